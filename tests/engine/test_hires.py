"""Hires fix: the second pass equals plain diffusers img2img on the upscaled first pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline
from PIL import Image

from desktop_sd.core.errors import InputError
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.engine import Engine
from desktop_sd.engine.random_upscalers import save_tiny_upscaler
from tests.engine.helpers import max_diff, run


@pytest.fixture(scope="module")
def plain_pipe(tiny_model_dir: Path) -> StableDiffusionPipeline:
    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _img2img(plain_pipe: StableDiffusionPipeline, request: GenerationRequest, image: object, seed: int) -> object:
    return StableDiffusionImg2ImgPipeline.from_pipe(plain_pipe)(
        prompt=request.prompt,
        negative_prompt="",
        image=image,
        strength=request.hires_strength,
        num_inference_steps=request.hires_steps,
        guidance_scale=request.cfg_scale,
        generator=torch.Generator("cpu").manual_seed(seed),
    ).images[0]


def test_pixel_hires_pass_matches_diffusers_img2img_on_the_upscaled_image(
    sd_engine: Engine, tiny_request: GenerationRequest, plain_pipe
) -> None:
    request = tiny_request.replace(hires_scale=2.0, hires_steps=4, hires_strength=0.5, hires_upscaler="Lanczos")
    steps: list = []
    result = run(sd_engine, request, steps)
    first = run(sd_engine, tiny_request).images[0]
    expected = _img2img(plain_pipe, request, first.resize((128, 128), Image.Resampling.LANCZOS), 42)
    assert result.images[0].size == (128, 128)
    assert max_diff(result.images[0], expected) <= 1
    assert [(s, t) for s, t, _ in steps][-2:] == [(1, 2), (2, 2)]  # the second pass reports its own steps
    assert result.request.width == 64 and result.request.hires_scale == 2.0  # the base size, as A1111 records


def test_latent_hires_pass_matches_diffusers_on_enlarged_latents(
    sd_engine: Engine, tiny_request: GenerationRequest, plain_pipe
) -> None:
    request = tiny_request.replace(hires_scale=1.5, hires_steps=2, hires_strength=0.7, hires_upscaler="Latent")
    result = run(sd_engine, request)
    latents = plain_pipe(
        prompt=request.prompt,
        negative_prompt="",
        width=64,
        height=64,
        num_inference_steps=2,
        guidance_scale=7.0,
        generator=torch.Generator("cpu").manual_seed(42),
        output_type="latent",
    ).images
    enlarged = F.interpolate(latents, size=(12, 12), mode="bilinear", align_corners=False)
    expected = _img2img(plain_pipe, request, enlarged, 42)
    assert result.images[0].size == (96, 96)
    assert max_diff(result.images[0], expected) <= 1


def test_an_upscaler_model_can_drive_the_hires_pass(
    sd_engine: Engine, tiny_request: GenerationRequest, tmp_path: Path
) -> None:
    model = save_tiny_upscaler(tmp_path / "tiny-x2.pth")
    request = tiny_request.replace(hires_scale=2.0, hires_steps=2, hires_upscaler=str(model), batch_size=2)
    result = run(sd_engine, request)
    assert [image.size for image in result.images] == [(128, 128), (128, 128)]
    assert max_diff(result.images[0], result.images[1]) > 0  # each image its own seed
    alone = run(sd_engine, request.replace(batch_size=1, seed=43))
    assert max_diff(result.images[1], alone.images[0]) <= 1


def test_hires_settings_out_of_range_are_refused_before_loading(
    tiny_request: GenerationRequest,
) -> None:
    engine = Engine(resolve=lambda name: pytest.fail("nothing may be loaded"), device="cpu")
    with pytest.raises(InputError, match="Hires upscale must be between 1 and 4"):
        run(engine, tiny_request.replace(hires_scale=9.0))
    with pytest.raises(InputError, match="largest is 4096x4096"):
        run(engine, tiny_request.replace(width=2048, height=2048, hires_scale=2.5))


def test_an_inpainting_model_gets_its_hires_pass_from_pixels(
    inpaint_engine: Engine, tiny_inpaint_model_dir: Path
) -> None:
    request = GenerationRequest(
        Mode.TXT2IMG, "a pond", model=str(tiny_inpaint_model_dir), width=64, height=64, steps=2, seed=1,
        hires_scale=1.5, hires_steps=2, hires_upscaler="Latent",
    )  # fmt: skip
    result = run(inpaint_engine, request)
    assert result.images[0].size == (96, 96)
    assert any("upscaled pixels" in notice for notice in result.notices)
