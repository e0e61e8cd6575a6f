"""SD 3 / Flux transformers in files of their own (quantized GGUF, or .safetensors), run with the rest of
an installed diffusers model (split parts and shipped configs: test_engine_flow_parts.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from diffusers import FluxPipeline, FluxTransformer2DModel, GGUFQuantizationConfig

from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, GenerationRequest, Mode, ModelFormat
from desktop_sd.engine import Engine
from desktop_sd.engine.random_flow_models import save_flux_pipeline, save_gguf_transformer
from desktop_sd.models.registry import Registry
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import max_diff, run


@pytest.fixture(scope="module")
def flux_dev(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_flux_pipeline(tmp_path_factory.mktemp("models") / "tiny-flux-dev")


def _install(folder: Path, name: str) -> None:
    Registry().add(id_hint=name, name=name, path=folder, source="folder", family=Family.FLUX, inpainting=False)


def test_a_gguf_transformer_runs_with_the_installed_model(flux_dev: Path, tmp_path: Path) -> None:
    gguf_file = save_gguf_transformer(flux_dev, tmp_path / "flux1-dev-Q8_0.gguf")
    schnell = save_flux_pipeline(tmp_path / "tiny-flux-schnell", guidance=False)
    _install(schnell, "schnell")  # no guidance: not a base for a dev transformer
    _install(flux_dev, "dev")
    ref = resolve_model(str(gguf_file))
    assert (ref.format, ref.family, ref.config_dir) == (ModelFormat.GGUF, Family.FLUX, flux_dev)

    request = GenerationRequest(
        Mode.TXT2IMG, "a red fox", model=str(gguf_file), width=64, height=64, steps=2, seed=3, cfg_scale=3.5
    )
    engine = Engine(resolve=resolve_model, device="cpu")
    result = run(engine, request)
    transformer = FluxTransformer2DModel.from_single_file(
        str(gguf_file),
        config=str(flux_dev),
        subfolder="transformer",
        quantization_config=GGUFQuantizationConfig(compute_dtype=torch.float32),
        local_files_only=True,
    )
    plain = FluxPipeline.from_pretrained(str(flux_dev), transformer=transformer, local_files_only=True)
    plain.set_progress_bar_config(disable=True)
    expected = plain(
        "a red fox", width=64, height=64, num_inference_steps=2, guidance_scale=3.5,
        generator=torch.Generator("cpu").manual_seed(3),
    ).images[0]  # fmt: skip
    assert max_diff(result.images[0], expected) <= 1
    loaded = engine._model
    assert loaded is not None
    assert type(loaded.base.transformer.x_embedder.weight).__name__ == "GGUFParameter"  # it stays quantized
    # Q8_0 takes about a quarter of float32's bytes for the quantized matrices
    full = sum(p.numel() * 4 for p in FluxPipeline.from_pretrained(str(flux_dev)).transformer.parameters())
    assert sum(p.numel() * p.element_size() for p in loaded.base.transformer.parameters()) < 0.6 * full


def test_a_gguf_transformer_without_its_model_says_what_to_install(flux_dev: Path, tmp_path: Path) -> None:
    gguf_file = save_gguf_transformer(flux_dev, tmp_path / "flux1-dev-Q8_0.gguf")
    with pytest.raises(
        ModelError, match=r"quantized Flux\.1 transformer; it needs the CLIP-L.*T5-XXL.*whole FLUX\.1 \[dev\]\) from"
    ):
        resolve_model(str(gguf_file))
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(gguf_file.read_bytes()[:200])
    with pytest.raises(ModelError, match="corrupt or incomplete GGUF"):
        resolve_model(str(broken))


def test_a_flux_transformer_safetensors_file_runs_with_the_installed_model(flux_dev: Path, tmp_path: Path) -> None:
    other = save_flux_pipeline(tmp_path / "fine-tune", seed=11)  # another transformer, as a fine-tune's file
    single = tmp_path / "flux-finetune.safetensors"
    shutil.copyfile(other / "transformer" / "diffusion_pytorch_model.safetensors", single)
    with pytest.raises(ModelError, match=r"Flux\.1 transformer; it needs the CLIP-L.*Models > Download"):
        resolve_model(str(single))
    _install(flux_dev, "dev")
    ref = resolve_model(str(single))
    assert (ref.format, ref.family, ref.config_dir) == (ModelFormat.SINGLE_FILE, Family.FLUX, flux_dev)

    request = GenerationRequest(Mode.TXT2IMG, "a red fox", model=str(single), width=64, height=64, steps=2, seed=3)
    result = run(Engine(resolve=resolve_model, device="cpu"), request)
    transformer = FluxTransformer2DModel.from_pretrained(str(other), subfolder="transformer")
    plain = FluxPipeline.from_pretrained(str(flux_dev), transformer=transformer, local_files_only=True)
    expected = plain(
        "a red fox", width=64, height=64, num_inference_steps=2, guidance_scale=request.cfg_scale,
        generator=torch.Generator("cpu").manual_seed(3),
    ).images[0]  # fmt: skip
    assert max_diff(result.images[0], expected) <= 1
    base_only = run(Engine(resolve=resolve_model, device="cpu"), request.replace(model=str(flux_dev)))
    assert max_diff(result.images[0], base_only.images[0]) > 1  # the file's transformer ran, not the base's
