"""Flux.1 and SD 3 LoRAs through the engine: parity with plain diffusers in each file naming, nothing left over
for the next job, weight 0, refusals naming both families, the add-on listing's family and ``Lora hashes``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from diffusers import DiffusionPipeline
from PIL import Image
from safetensors.torch import save_file

from desktop_sd.core import paths
from desktop_sd.core.errors import InputError
from desktop_sd.core.file_hash import lora_hash
from desktop_sd.core.request import Family, GenerationRequest, Mode
from desktop_sd.engine import Engine
from desktop_sd.engine.lora import LoraFile, check_lora_file
from desktop_sd.engine.random_flow_loras import (
    save_bfl_flux_lora,
    save_kohya_flux_lora,
    save_kohya_sd3_lora,
    save_peft_flow_lora,
    save_xlabs_flux_lora,
)
from desktop_sd.engine.random_flow_models import save_gguf_transformer
from desktop_sd.engine.random_loras import save_kohya_lora
from desktop_sd.library.metadata import a1111_parameters
from desktop_sd.models.addons import AddonKind, addon_path, describe
from desktop_sd.models.registry import Registry
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import max_diff, run
from tests.models import addon_files

PROMPT = "a red fox in the snow"


@pytest.fixture(scope="module")
def plain_flux(flux_dir: Path) -> DiffusionPipeline:
    return _plain(flux_dir)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(resolve=resolve_model, device="cpu", find_addon=addon_path)


def _plain(folder: Path) -> DiffusionPipeline:
    pipe = DiffusionPipeline.from_pretrained(str(folder), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _request(folder: Path, **changes: object) -> GenerationRequest:
    request = GenerationRequest(
        Mode.TXT2IMG, PROMPT, model=str(folder), width=64, height=64, steps=2, seed=7, cfg_scale=3.5
    )
    return request.replace(**changes)


def _loras() -> Path:
    return paths.models_dir() / "loras"


def _plain_with_lora(pipe: DiffusionPipeline, path: Path, weight: float, request: GenerationRequest) -> Image.Image:
    pipe.load_lora_weights(str(path), adapter_name="plain")
    try:
        pipe.set_adapters(["plain"], [weight])
        negative = {"negative_prompt": ""} if "negative_prompt" in _call_args(pipe) else {}
        image: Image.Image = pipe(
            prompt=PROMPT,
            **negative,
            width=64,
            height=64,
            num_inference_steps=request.steps,
            guidance_scale=request.cfg_scale,
            generator=torch.Generator("cpu").manual_seed(request.seed or 0),
        ).images[0]
        return image
    finally:
        pipe.delete_adapters(["plain"])


def _call_args(pipe: DiffusionPipeline) -> set[str]:
    import inspect

    return set(inspect.signature(pipe.__call__).parameters)


def _adapters(engine: Engine) -> set[str]:
    model = engine._model
    assert model is not None
    return {name for names in model.base.get_list_adapters().values() for name in names}


def test_flux_lora_matches_diffusers_and_leaves_nothing_for_the_next_job(
    engine: Engine, flux_dir: Path, plain_flux: DiffusionPipeline
) -> None:
    lora = save_peft_flow_lora(plain_flux, _loras() / "flux style.safetensors")
    request = _request(flux_dir)
    base = run(engine, request)
    tagged = run(engine, request.replace(prompt=PROMPT + ", <lora:flux style:0.8>"))
    again = run(engine, request)
    zero = run(engine, request.replace(loras=(("flux style", 0.0),)))
    picked = run(engine, request.replace(loras=(("flux style", 0.8),)))
    assert max_diff(tagged.images[0], _plain_with_lora(plain_flux, lora, 0.8, request)) <= 1
    assert max_diff(base.images[0], tagged.images[0]) > 10
    assert max_diff(base.images[0], again.images[0]) == 0  # the LoRA did not stay on
    assert max_diff(base.images[0], zero.images[0]) == 0 and zero.lora_hashes == ()
    assert max_diff(tagged.images[0], picked.images[0]) == 0  # the picker and the tag are the same thing
    assert engine.loads == 1
    assert tagged.request.prompt.endswith("<lora:flux style:0.8>")  # recorded as typed, as A1111 does
    assert tagged.lora_hashes == (("flux style", lora_hash(lora, paths.cache_dir() / "check.json")),)
    assert re.fullmatch(r"[0-9a-f]{12}", tagged.lora_hashes[0][1]) and base.lora_hashes == ()
    text = a1111_parameters(tagged.request, "tiny-flux-dev", lora_hashes=tagged.lora_hashes)
    assert f'Lora hashes: "flux style: {tagged.lora_hashes[0][1]}"' in text


def test_flux_lora_namings_load_as_diffusers_converts_them(
    engine: Engine, flux_dir: Path, plain_flux: DiffusionPipeline, tmp_path: Path
) -> None:
    """kohya and XLabs files go through diffusers' own converters; a BFL/ComfyUI file gives what the same
    tensors give under kohya's names (alpha = rank: no scaling, as BFL files have none)."""
    kohya = save_kohya_flux_lora(plain_flux, _loras() / "kohya.safetensors")
    xlabs = save_xlabs_flux_lora(plain_flux, _loras() / "xlabs.safetensors")
    bfl = save_bfl_flux_lora(plain_flux, _loras() / "bfl.safetensors", seed=3)
    same_as_bfl = save_kohya_flux_lora(plain_flux, tmp_path / "bfl-as-kohya.safetensors", alpha=4.0, seed=3)
    request = _request(flux_dir)
    base = run(engine, request).images[0]
    for name, expected_file in (("kohya", kohya), ("xlabs", xlabs), ("bfl", same_as_bfl)):
        image = run(engine, request.replace(loras=((name, 1.0),))).images[0]
        assert max_diff(image, base) > 1, name
        assert max_diff(image, _plain_with_lora(plain_flux, expected_file, 1.0, request)) <= 1, name
    assert [describe(path).family for path in (kohya, xlabs, bfl)] == [Family.FLUX] * 3  # type: ignore[union-attr]
    # A fused single-block layer of another width (a Flux-like model's): diffusers cannot split it.
    width = plain_flux.transformer.transformer_blocks[0].attn.to_q.in_features
    save_file(
        {
            "lora_unet_single_blocks_0_linear1.lora_down.weight": torch.zeros(4, width),
            "lora_unet_single_blocks_0_linear1.lora_up.weight": torch.zeros(7 * width, 4),
        },
        str(_loras() / "other width.safetensors"),
    )
    with pytest.raises(InputError, match=re.escape("'other width' does not fit the model in use (Flux.1)")):
        run(engine, request.replace(loras=(("other width", 1.0),)))
    assert max_diff(run(engine, request).images[0], base) == 0


def test_sd3_lora_matches_diffusers_and_an_sd3_kohya_file_is_refused_by_name(engine: Engine, sd3_dir: Path) -> None:
    plain = _plain(sd3_dir)
    lora = save_peft_flow_lora(plain, _loras() / "sd3 style.safetensors", seed=1)
    request = _request(sd3_dir, cfg_scale=4.5)
    base = run(engine, request).images[0]
    styled = run(engine, request.replace(prompt=PROMPT + " <lora:sd3 style:0.7>"))
    assert max_diff(styled.images[0], _plain_with_lora(plain, lora, 0.7, request)) <= 1
    assert max_diff(styled.images[0], base) > 10
    assert max_diff(run(engine, request).images[0], base) == 0
    assert [name for name, _ in styled.lora_hashes] == ["sd3 style"]
    addon = describe(lora)
    assert addon is not None and (addon.kind, addon.family) == (AddonKind.LORA, Family.SD3)
    save_kohya_sd3_lora(plain, _loras() / "sai naming.safetensors")
    assert describe(_loras() / "sai naming.safetensors").family is Family.SD3  # type: ignore[union-attr]
    with pytest.raises(InputError, match=r"SD 3 LoRA in kohya or ComfyUI naming.*diffusers naming"):
        run(engine, request.replace(loras=(("sai naming", 1.0),)))


def test_a_lora_of_another_family_is_refused_before_it_loads(
    engine: Engine, flux_dir: Path, sd3_dir: Path, plain_flux: DiffusionPipeline, tiny_model_dir: Path
) -> None:
    sd_pipe = DiffusionPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    save_kohya_lora(sd_pipe, _loras() / "sd15 detail.safetensors")
    save_kohya_flux_lora(plain_flux, _loras() / "flux only.safetensors")
    with pytest.raises(InputError, match=re.escape("made for SD 1.x models, but the model in use is Flux.1")):
        run(engine, _request(flux_dir, loras=(("sd15 detail", 1.0),)))
    assert not _adapters(engine)  # refused from the header: no weight went in
    with pytest.raises(InputError, match=re.escape("made for Flux.1 models, but the model in use is SD 3")):
        run(engine, _request(sd3_dir, loras=(("flux only", 1.0),)))
    assert not _adapters(engine)
    with pytest.raises(InputError, match=re.escape("made for Flux.1 models, but the model in use is SD 1.x")):
        run(engine, _request(tiny_model_dir, loras=(("flux only", 1.0),)))


@pytest.mark.parametrize(
    ("naming", "model", "message"),
    [
        ("flux-kohya", Family.SDXL, "made for Flux.1 models, but the model in use is SDXL"),
        ("flux-bfl", Family.SD3, "made for Flux.1 models, but the model in use is SD 3"),
        ("sd35-large-peft", Family.FLUX, "made for SD 3 models, but the model in use is Flux.1"),
        ("sdxl", Family.FLUX, "made for SDXL models, but the model in use is Flux.1"),
    ],
)
def test_the_header_tells_a_real_size_lora_of_another_family(
    naming: str, model: Family, message: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{naming}.safetensors"
    if naming == "sdxl":
        addon_files.kohya_lora(path, "sdxl")
    else:
        addon_files.flow_lora(path, naming)
    with pytest.raises(InputError, match=re.escape(message)):
        check_lora_file(LoraFile(naming, path, 1.0), model)


def test_flux_takes_loras_but_still_refuses_a_separate_vae_by_name(engine: Engine, flux_dir: Path) -> None:
    with pytest.raises(
        InputError, match=re.escape("Flux.1 models take no separate VAE in this version (VAE 'my vae')")
    ):
        run(engine, _request(flux_dir, vae="my vae"))
    weighted = run(engine, _request(flux_dir, prompt="(a red fox:1.3) in the snow", prompt_weights=True))
    plain = run(engine, _request(flux_dir, prompt="(a red fox:1.3) in the snow", prompt_weights=False))
    assert max_diff(weighted.images[0], plain.images[0]) == 0  # no A1111 weights: the prompt is plain text


def test_a_lora_on_a_quantized_gguf_flux_transformer(
    flux_dir: Path, plain_flux: DiffusionPipeline, tmp_path: Path
) -> None:
    """Most Flux users run a GGUF transformer: the LoRA goes onto its quantized layers and comes off again."""
    Registry().add(id_hint="dev", name="dev", path=flux_dir, source="folder", family=Family.FLUX, inpainting=False)
    gguf_file = save_gguf_transformer(flux_dir, tmp_path / "flux1-dev-Q8_0.gguf")
    save_kohya_flux_lora(plain_flux, _loras() / "grain.safetensors")
    engine = Engine(resolve=resolve_model, device="cpu", find_addon=addon_path)
    request = _request(gguf_file)
    base = run(engine, request).images[0]
    grain = run(engine, request.replace(loras=(("grain", 1.0),))).images[0]
    assert max_diff(grain, base) > 1
    assert max_diff(run(engine, request).images[0], base) == 0
    model = engine._model
    assert model is not None and type(model.base.transformer.x_embedder.weight).__name__ == "GGUFParameter"
