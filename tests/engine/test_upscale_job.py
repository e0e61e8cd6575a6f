"""Upscale jobs on the engine: an upscaler model by name, then the tiled img2img refine."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

from desktop_sd.core.errors import Cancelled, InputError, ModelError
from desktop_sd.core.request import GenerationRequest
from desktop_sd.core.upscaling import UpscaleRequest
from desktop_sd.engine import Engine
from desktop_sd.engine.random_upscalers import save_tiny_upscaler
from tests.engine.helpers import gradient, max_diff


def _no_model(name: str) -> object:
    raise AssertionError("an upscale without refine loads no diffusion model")


def test_upscale_by_name_with_the_models_own_factor(tmp_path: Path) -> None:
    path = save_tiny_upscaler(tmp_path / "upscalers" / "tiny-x2.safetensors")
    engine = Engine(
        resolve=_no_model, device="cpu", find_upscaler=lambda name: tmp_path / "upscalers" / f"{name}.safetensors"
    )
    steps: list[tuple[int, int]] = []
    result = engine.upscale(
        UpscaleRequest(gradient((40, 30)), "tiny-x2"), lambda s, t, _p: steps.append((s, t)), threading.Event()
    )
    assert path.is_file() and result.image.size == (80, 60) and result.scale == 2.0
    assert steps == [(1, 1)]
    assert result.postprocess_pairs() == [("Postprocess upscale by", "2"), ("Postprocess upscaler", "tiny-x2")]


def test_upscalers_are_found_in_the_models_folder(isolated_home: Path) -> None:
    from desktop_sd.core import paths

    save_tiny_upscaler(paths.models_dir() / "upscalers" / "mine.pth")
    engine = Engine(resolve=_no_model, device="cpu")
    result = engine.upscale(UpscaleRequest(gradient((16, 16)), "mine", scale=3.0), lambda *a: None, threading.Event())
    assert result.image.size == (48, 48)
    with pytest.raises(ModelError, match="No upscaler named 'other'"):
        engine.upscale(UpscaleRequest(gradient((16, 16)), "other"), lambda *a: None, threading.Event())


def test_lanczos_needs_no_model_and_bad_factors_are_refused() -> None:
    engine = Engine(resolve=_no_model, device="cpu")
    result = engine.upscale(UpscaleRequest(gradient((20, 10)), "Lanczos", 2.5), lambda *a: None, threading.Event())
    assert result.image.size == (50, 25)
    with pytest.raises(InputError, match="Upscale factor must be between 1 and 8"):
        engine.upscale(UpscaleRequest(gradient(), "Lanczos", 10.0), lambda *a: None, threading.Event())
    with pytest.raises(InputError, match="only inside the hires fix"):
        engine.upscale(UpscaleRequest(gradient(), "Latent", 2.0), lambda *a: None, threading.Event())


def test_tiled_refine_runs_img2img_per_tile_and_blends(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    refine = tiny_request.replace(strength=0.3, steps=4, seed=5)
    request = UpscaleRequest(gradient((64, 64)), "Lanczos", 2.0, refine=refine, tile_size=64, tile_overlap=16)
    steps: list[tuple[int, int]] = []
    result = sd_engine.upscale(request, lambda s, t, _p: steps.append((s, t)), threading.Event())
    assert result.image.size == (128, 128)
    assert result.tiles == 9 and steps == [(k, 9) for k in range(1, 10)]  # 3 x 3 tiles of 64 sharing 32
    assert result.refine is not None and result.refine.seed == 5 and result.refine.scheduler != "default"
    plain = gradient((64, 64)).resize((128, 128), Image.Resampling.LANCZOS)
    assert max_diff(result.image, plain) > 0  # refined, not just enlarged
    again = sd_engine.upscale(request, lambda *a: None, threading.Event())
    assert max_diff(result.image, again.image) == 0  # the seed makes it repeatable


def test_tiled_refine_cancels_between_tiles(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    cancelled = threading.Event()
    done: list[int] = []

    def on_step(step: int, total: int, _preview: object) -> None:
        done.append(step)
        if step == 2:
            cancelled.set()

    request = UpscaleRequest(gradient((64, 64)), "Lanczos", 2.0, refine=tiny_request, tile_size=64, tile_overlap=16)
    with pytest.raises(Cancelled):
        sd_engine.upscale(request, on_step, cancelled)
    assert done == [1, 2]


def test_tiled_refine_runs_with_the_requests_lora_and_not_the_last_jobs(
    sd_engine: Engine, tiny_request: GenerationRequest, tmp_path: Path
) -> None:
    from diffusers import StableDiffusionPipeline

    from desktop_sd.engine.random_loras import save_kohya_lora

    pipe = StableDiffusionPipeline.from_pretrained(tiny_request.model, local_files_only=True)
    lora = save_kohya_lora(pipe, tmp_path / "fox style.safetensors", conv=True, tags={"red fox": 3})
    refine = tiny_request.replace(strength=0.6, seed=5)
    request = UpscaleRequest(gradient((48, 40)), "Lanczos", 2.0, refine=refine, tile_size=64, tile_overlap=16)
    with_lora = UpscaleRequest(
        request.image, "Lanczos", 2.0, refine=refine.replace(loras=((str(lora), 0.8),)), tile_size=64, tile_overlap=16
    )
    plain = sd_engine.upscale(request, lambda *a: None, threading.Event())
    styled = sd_engine.upscale(with_lora, lambda *a: None, threading.Event())
    after = sd_engine.upscale(request, lambda *a: None, threading.Event())
    assert max_diff(plain.image, styled.image) > 10  # the LoRA took part in every tile
    assert max_diff(plain.image, after.image) == 0  # and left with its job
    assert [name for name, _ in styled.lora_hashes] == [str(lora)] and plain.lora_hashes == ()  # for the metadata
