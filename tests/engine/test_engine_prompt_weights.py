"""A1111 prompt syntax in the engine: weights, long prompts, BREAK and clip skip, on tiny SD 1.x and SDXL."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from desktop_sd.core.request import GenerationRequest
from desktop_sd.engine import Engine
from desktop_sd.engine.prompt_embeds import _weighted, diffusers_clip_skip, encode_arguments
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import max_diff, run

LONG = "a red fox in the snow, " + ", ".join(f"tree number {i}" for i in range(5))  # about 100 byte tokens


@pytest.fixture(scope="module")
def sdxl_engine() -> Engine:
    return Engine(resolve=resolve_model, device="cpu")


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_plain_prompt_matches_diffusers_and_weights_change_the_image(
    family: str, sd_engine: Engine, sdxl_engine: Engine, tiny_request: GenerationRequest, tiny_sdxl_dir: Path
) -> None:
    engine, request = sd_engine, tiny_request.replace(negative_prompt="blurry")
    if family == "sdxl":
        engine, request = sdxl_engine, request.replace(model=str(tiny_sdxl_dir))
    ours = run(engine, request).images[0]
    theirs = run(engine, request.replace(prompt_weights=False)).images[0]
    assert max_diff(ours, theirs) <= 1
    neutral = run(engine, request.replace(prompt="a red (fox:1.0) in the snow")).images[0]
    assert max_diff(ours, neutral) <= 1
    weighted = run(engine, request.replace(prompt="a (red fox in the snow:1.8)")).images[0]
    assert max_diff(ours, weighted) > 2
    # With the syntax off the brackets are words like any other.
    literal = run(engine, request.replace(prompt="a red (fox:1.0) in the snow", prompt_weights=False)).images[0]
    assert max_diff(ours, literal) > 2


def test_long_prompt_is_encoded_past_75_tokens(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    request = tiny_request.replace(prompt=LONG)
    truncated = run(sd_engine, request.replace(prompt_weights=False))
    assert any("only the first 75 are used" in n for n in truncated.notices)
    chunked = run(sd_engine, request)
    assert not any("tokens long" in n for n in chunked.notices)
    assert max_diff(chunked.images[0], truncated.images[0]) > 2
    # A negative prompt of one chunk is padded to the positive's two.
    assert run(sd_engine, request.replace(negative_prompt="blurry")).images


def test_break_starts_a_new_chunk(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    joined = run(sd_engine, tiny_request.replace(prompt="a red fox, in the snow")).images[0]
    broken = run(sd_engine, tiny_request.replace(prompt="a red fox, BREAK in the snow")).images[0]
    assert max_diff(joined, broken) > 2


def test_embeddings_are_joined_chunks_of_77(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    run(sd_engine, tiny_request)  # loads the model
    pipe = sd_engine._model.pipeline(next(iter(sd_engine._model._pipes)))  # type: ignore[union-attr]
    encoded = encode_arguments(pipe, {"prompt": LONG, "negative_prompt": "x", "clip_skip": None}, True)
    assert encoded["prompt_embeds"].shape[1] == 154
    assert encoded["negative_prompt_embeds"].shape == encoded["prompt_embeds"].shape
    assert "prompt" not in encoded and "clip_skip" not in encoded


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_clip_skip_matches_diffusers_and_changes_the_image(
    family: str, sd_engine: Engine, sdxl_engine: Engine, tiny_request: GenerationRequest, tiny_sdxl_dir: Path
) -> None:
    engine, request = sd_engine, tiny_request
    if family == "sdxl":
        engine, request = sdxl_engine, request.replace(model=str(tiny_sdxl_dir))
    base = run(engine, request).images[0]
    skipped = run(engine, request.replace(clip_skip=2)).images[0]
    assert max_diff(base, skipped) > 2
    assert diffusers_clip_skip(1) is None and diffusers_clip_skip(2) == 1  # A1111's 2 is diffusers' 1
    model = engine._model
    assert model is not None
    pipe = model.pipeline(next(iter(model._pipes)))
    ours = encode_arguments(pipe, {"prompt": request.prompt, "clip_skip": diffusers_clip_skip(2)}, True)
    if family == "sdxl":
        with torch.no_grad():
            theirs = pipe.encode_prompt(
                request.prompt, device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=False, clip_skip=1
            )
        assert torch.allclose(ours["prompt_embeds"], theirs[0], atol=1e-5)
        assert torch.allclose(ours["pooled_prompt_embeds"], theirs[2], atol=1e-5)
    else:  # diffusers' SD formula (its own call fails with transformers 5): layer -(1 + 1), then the final norm
        encoder = pipe.text_encoder
        ids = pipe.tokenizer(request.prompt, padding="max_length", max_length=77, return_tensors="pt").input_ids
        with torch.no_grad():
            theirs = encoder.final_layer_norm(encoder(ids, output_hidden_states=True).hidden_states[-2])
        assert torch.allclose(ours["prompt_embeds"], theirs, atol=1e-5)
    # With the syntax off the same clip skip applies.
    plain = run(engine, request.replace(clip_skip=2, prompt_weights=False)).images[0]
    assert max_diff(plain, skipped) <= 1


def test_weights_scale_tokens_and_the_mean_is_restored_as_in_a1111() -> None:
    torch.manual_seed(0)
    hidden = torch.randn(1, 4, 8) + 0.5
    weights = torch.tensor([1.0, 1.5, 1.0, 0.5])
    out = _weighted(hidden, weights)
    assert torch.allclose(out.mean(), hidden.mean())
    ratio = out / hidden
    assert torch.allclose(ratio[0, 1] / ratio[0, 0], torch.full((8,), 1.5))
    assert torch.allclose(ratio[0, 3] / ratio[0, 0], torch.full((8,), 0.5))
    # Zero-mean outputs (a final layer norm without bias) are scaled without the meaningless rescale.
    centred = hidden - hidden.mean(dim=-1, keepdim=True)
    assert torch.allclose(_weighted(centred, weights), centred * weights.reshape(1, -1, 1))
