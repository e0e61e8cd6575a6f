"""LoRAs and separate VAEs through the engine: parity with plain diffusers, switching between jobs, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
from safetensors.torch import save_file

from desktop_sd.core import paths
from desktop_sd.core.errors import InputError
from desktop_sd.core.request import GenerationRequest
from desktop_sd.engine import Engine
from desktop_sd.engine.ldm_layout import vae_to_ldm
from desktop_sd.engine.random_loras import save_kohya_lora, save_loha, save_peft_lora
from desktop_sd.engine.random_models import _vae
from desktop_sd.models.addons import addon_path
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import max_diff, run


@pytest.fixture(scope="module")
def plain_sd(tiny_model_dir: Path) -> StableDiffusionPipeline:
    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def plain_xl(tiny_sdxl_dir: Path) -> StableDiffusionXLPipeline:
    pipe = StableDiffusionXLPipeline.from_pretrained(str(tiny_sdxl_dir), local_files_only=True, add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(resolve=resolve_model, device="cpu", find_addon=addon_path)


def loras_dir() -> Path:
    return paths.models_dir() / "loras"


def plain_with_lora(pipe, path: Path, weight: float, request: GenerationRequest, prompt: str):
    pipe.load_lora_weights(str(path), adapter_name="plain")
    try:
        pipe.set_adapters(["plain"], [weight])
        return pipe(
            prompt=prompt,
            negative_prompt="",
            width=64,
            height=64,
            num_inference_steps=request.steps,
            guidance_scale=request.cfg_scale,
            generator=torch.Generator("cpu").manual_seed(request.seed or 0),
        ).images[0]
    finally:
        pipe.delete_adapters(["plain"])


def test_lora_tag_changes_the_image_and_a_job_without_it_gives_the_base_image_again(
    engine: Engine, tiny_request: GenerationRequest, plain_sd: StableDiffusionPipeline
) -> None:
    save_kohya_lora(plain_sd, loras_dir() / "fox style.safetensors", conv=True, tags={"red fox": 3})
    base = run(engine, tiny_request)
    tagged = run(engine, tiny_request.replace(prompt=tiny_request.prompt + ", <lora:fox style:0.8>"))
    again = run(engine, tiny_request)
    picked = run(engine, tiny_request.replace(loras=(("fox style", 0.8),)))
    assert max_diff(base.images[0], tagged.images[0]) > 10
    assert max_diff(base.images[0], again.images[0]) == 0
    assert max_diff(tagged.images[0], picked.images[0]) == 0  # the picker and the tag are the same thing
    assert engine.loads == 1
    assert tagged.request.prompt.endswith("<lora:fox style:0.8>")  # recorded as typed, as A1111 does
    assert [name for name, _ in tagged.lora_hashes] == ["fox style"] and len(tagged.lora_hashes[0][1]) == 12
    assert base.lora_hashes == ()


@pytest.mark.parametrize("naming", ["kohya", "peft"])
def test_sd1_lora_matches_plain_diffusers(
    engine: Engine, tiny_request: GenerationRequest, plain_sd: StableDiffusionPipeline, naming: str
) -> None:
    path = loras_dir() / f"{naming}.safetensors"
    if naming == "kohya":
        save_kohya_lora(plain_sd, path, conv=True, seed=3)
    else:
        save_peft_lora(plain_sd, path, seed=4)
    result = run(engine, tiny_request.replace(loras=((naming, 0.7),)))
    expected = plain_with_lora(plain_sd, path, 0.7, tiny_request, tiny_request.prompt)
    assert max_diff(result.images[0], expected) <= 1
    assert max_diff(result.images[0], run(engine, tiny_request).images[0]) > 10


@pytest.mark.parametrize("naming", ["kohya", "peft"])
def test_sdxl_lora_matches_plain_diffusers(
    tiny_sdxl_dir: Path, tiny_request: GenerationRequest, plain_xl: StableDiffusionXLPipeline, naming: str
) -> None:
    engine = Engine(resolve=resolve_model, device="cpu", find_addon=addon_path)
    request = tiny_request.replace(model=str(tiny_sdxl_dir), scheduler="euler")
    path = loras_dir() / "xl.safetensors"
    (save_kohya_lora if naming == "kohya" else save_peft_lora)(plain_xl, path, seed=5)
    result = run(engine, request.replace(prompt=request.prompt + " <lora:xl:1.2>"))
    expected = plain_with_lora(plain_xl, path, 1.2, request, request.prompt)
    assert max_diff(result.images[0], expected) <= 1


def test_several_loras_at_once_each_with_its_weight(
    engine: Engine, tiny_request: GenerationRequest, plain_sd: StableDiffusionPipeline
) -> None:
    save_kohya_lora(plain_sd, loras_dir() / "one.safetensors", seed=6)
    save_peft_lora(plain_sd, loras_dir() / "two.safetensors", seed=7)
    both = run(engine, tiny_request.replace(prompt="<lora:one:0.5> a red fox <lora:two:0.9>"))
    plain_sd.load_lora_weights(str(loras_dir() / "one.safetensors"), adapter_name="one")
    plain_sd.load_lora_weights(str(loras_dir() / "two.safetensors"), adapter_name="two")
    try:
        plain_sd.set_adapters(["one", "two"], [0.5, 0.9])
        expected = plain_sd(
            prompt="a red fox",
            negative_prompt="",
            width=64,
            height=64,
            num_inference_steps=2,
            guidance_scale=tiny_request.cfg_scale,
            generator=torch.Generator("cpu").manual_seed(42),
        ).images[0]
    finally:
        plain_sd.delete_adapters(["one", "two"])
    assert max_diff(both.images[0], expected) <= 1
    only_one = run(engine, tiny_request.replace(prompt="<lora:one:0.5> a red fox"))
    assert max_diff(only_one.images[0], both.images[0]) > 10
    assert [name for name, _ in both.lora_hashes] == ["one", "two"]


def test_refusals_name_the_problem(
    engine: Engine, tiny_sdxl_dir: Path, tiny_request: GenerationRequest, plain_sd: StableDiffusionPipeline
) -> None:
    with pytest.raises(InputError, match="No LoRA named 'nowhere' is installed"):
        run(engine, tiny_request.replace(prompt="<lora:nowhere:1> fox"))
    save_loha(plain_sd, loras_dir() / "hadamard.safetensors")
    with pytest.raises(InputError, match="LoHa"):
        run(engine, tiny_request.replace(loras=(("hadamard", 1.0),)))
    save_kohya_lora(plain_sd, loras_dir() / "sd1 only.safetensors")
    xl_engine = Engine(resolve=resolve_model, device="cpu", find_addon=addon_path)
    with pytest.raises(InputError, match=r"made for SD 1\.x models.*model in use is SDXL"):
        run(xl_engine, tiny_request.replace(model=str(tiny_sdxl_dir), prompt="<lora:sd1 only:1> fox"))
    # after a refusal the model still runs, with no LoRA left in it
    assert run(engine, tiny_request).images


def test_separate_vae_from_a_file_and_back_to_the_models_own(
    engine: Engine, tiny_request: GenerationRequest, plain_sd: StableDiffusionPipeline
) -> None:
    torch.manual_seed(11)
    other = _vae("tiny")
    vae_dir = paths.models_dir() / "vae"
    vae_dir.mkdir(parents=True, exist_ok=True)
    ldm = vae_to_ldm(other.state_dict(), other.config)  # a VAE file as A1111 users have them: LDM names
    state = {k.removeprefix("first_stage_model."): v.contiguous() for k, v in ldm.items()}
    save_file(state, str(vae_dir / "other-ft-mse.safetensors"))
    base = run(engine, tiny_request)
    with_vae = run(engine, tiny_request.replace(vae="other-ft-mse"))
    back = run(engine, tiny_request)
    assert max_diff(base.images[0], with_vae.images[0]) > 10
    assert max_diff(base.images[0], back.images[0]) == 0
    assert engine.loads == 1
    assert len(with_vae.vae_hash) == 10 and base.vae_hash == ""
    # the same as plain diffusers with that VAE
    own = plain_sd.vae
    plain_sd.vae = other
    try:
        expected = plain_sd(
            prompt=tiny_request.prompt,
            negative_prompt="",
            width=64,
            height=64,
            num_inference_steps=2,
            guidance_scale=tiny_request.cfg_scale,
            generator=torch.Generator("cpu").manual_seed(42),
        ).images[0]
    finally:
        plain_sd.vae = own
    assert max_diff(with_vae.images[0], expected) <= 1
    with pytest.raises(InputError, match="No VAE named 'absent'"):
        run(engine, tiny_request.replace(vae="absent"))
