"""SD 3 and Flux.1 through the engine: parity with plain diffusers, every mode, guidance, T5 left out,
flow-matching schedulers only, previews of 16-channel latents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import AutoencoderTiny, DiffusionPipeline, StableDiffusion3Pipeline

from desktop_sd.core.errors import InputError
from desktop_sd.core.request import Borders, Family, GenerationRequest, Mode
from desktop_sd.engine import Engine, previews
from desktop_sd.engine.families import flux, sd3
from desktop_sd.engine.random_flow_models import save_flux_pipeline, save_sd3_pipeline
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import box_mask, gradient, max_diff, pixels, run

PROMPT = "a red fox in the snow"


@pytest.fixture(scope="module")
def sd3_engine() -> Engine:
    return Engine(resolve=resolve_model, device="cpu", preview_interval_s=0.0)


@pytest.fixture(scope="module")
def flux_engine() -> Engine:
    return Engine(resolve=resolve_model, device="cpu", preview_interval_s=0.0)


def _request(folder: Path, **changes: object) -> GenerationRequest:
    request = GenerationRequest(Mode.TXT2IMG, PROMPT, model=str(folder), width=64, height=64, steps=2, seed=7)
    return request.replace(**changes)


def _plain(folder: Path, **kwargs: object) -> DiffusionPipeline:
    pipe = DiffusionPipeline.from_pretrained(str(folder), local_files_only=True, **kwargs)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_folders_are_told_apart_by_family(sd3_dir: Path, flux_dir: Path, tmp_path: Path) -> None:
    assert (resolve_model(str(sd3_dir)).family, resolve_model(str(sd3_dir)).inpainting) == (Family.SD3, False)
    assert (resolve_model(str(flux_dir)).family, resolve_model(str(flux_dir)).inpainting) == (Family.FLUX, False)
    fill = save_flux_pipeline(tmp_path / "tiny-flux-fill", fill=True)
    assert (resolve_model(str(fill)).family, resolve_model(str(fill)).inpainting) == (Family.FLUX, True)


def test_sd3_txt2img_matches_plain_diffusers(sd3_engine: Engine, sd3_dir: Path) -> None:
    request = _request(sd3_dir, cfg_scale=4.5, negative_prompt="blurry")
    steps: list = []
    result = run(sd3_engine, request, steps)
    expected = _plain(sd3_dir)(
        prompt=PROMPT,
        negative_prompt="blurry",
        width=64,
        height=64,
        num_inference_steps=2,
        guidance_scale=4.5,
        generator=torch.Generator("cpu").manual_seed(7),
    ).images[0]
    assert max_diff(result.images[0], expected) <= 1
    assert [(s, t) for s, t, _ in steps] == [(1, 2), (2, 2)]
    assert result.request.scheduler == "euler"  # the model's flow-matching Euler, recorded by its id


def test_sd3_every_mode_keeps_what_it_should(sd3_engine: Engine, sd3_dir: Path) -> None:
    request = _request(sd3_dir)
    image = run(sd3_engine, request.replace(mode=Mode.IMG2IMG, init_image=gradient(), strength=0.6)).images[0]
    assert image.size == (64, 64)
    init, mask = gradient(), box_mask((64, 64), (16, 16, 48, 48))
    painted = run(sd3_engine, request.replace(mode=Mode.INPAINT, init_image=init, mask=mask, mask_feather=0))
    outside = np.asarray(mask) < 128
    assert (pixels(painted.images[0])[outside] == pixels(init)[outside]).all()
    assert not (pixels(painted.images[0])[~outside] == pixels(init)[~outside]).all()
    grown = run(sd3_engine, request.replace(mode=Mode.OUTPAINT, init_image=gradient((48, 64)), outpaint=Borders(16)))
    assert grown.images[0].size == (64, 64)
    assert sd3_engine.loads == 1


def test_flow_models_offer_only_flow_matching_schedulers(sd3_engine: Engine, sd3_dir: Path) -> None:
    with pytest.raises(InputError, match="DPM\\+\\+ 2M Karras sampler does not work with SD 3 models"):
        run(sd3_engine, _request(sd3_dir, scheduler="dpmpp_2m_karras"))
    default = run(sd3_engine, _request(sd3_dir)).images[0]
    euler = run(sd3_engine, _request(sd3_dir, scheduler="euler"))
    assert euler.request.scheduler == "euler" and max_diff(euler.images[0], default) == 0


def test_sd3_runs_without_t5_and_says_so(tmp_path: Path) -> None:
    folder = save_sd3_pipeline(tmp_path / "sd35-no-t5", with_t5=False)
    assert not (folder / "text_encoder_3").exists()
    result = run(Engine(resolve=resolve_model, device="cpu"), _request(folder, cfg_scale=3.0))
    expected = _plain(folder, text_encoder_3=None, tokenizer_3=None)(
        prompt=PROMPT,
        negative_prompt="",
        width=64,
        height=64,
        num_inference_steps=2,
        guidance_scale=3.0,
        generator=torch.Generator("cpu").manual_seed(7),
    ).images[0]
    assert max_diff(result.images[0], expected) <= 1
    assert sd3.NO_T5 in result.notices


def test_flux_dev_takes_the_cfg_value_as_distilled_guidance(flux_engine: Engine, flux_dir: Path) -> None:
    request = _request(flux_dir, cfg_scale=3.5, negative_prompt="blurry")
    result = run(flux_engine, request)
    expected = _plain(flux_dir)(
        prompt=PROMPT,
        width=64,
        height=64,
        num_inference_steps=2,
        guidance_scale=3.5,
        generator=torch.Generator("cpu").manual_seed(7),
    ).images[0]
    assert max_diff(result.images[0], expected) <= 1
    assert flux.NO_NEGATIVE in result.notices  # one pass a step: the negative prompt cannot apply
    stronger = run(flux_engine, request.replace(cfg_scale=8.0)).images[0]
    assert max_diff(stronger, result.images[0]) > 1


def test_flux_img2img_and_inpaint(flux_engine: Engine, flux_dir: Path) -> None:
    request = _request(flux_dir)
    init, mask = gradient(), box_mask((64, 64), (0, 32, 64, 64))
    image = run(flux_engine, request.replace(mode=Mode.IMG2IMG, init_image=init, strength=0.6)).images[0]
    assert image.size == (64, 64)  # the image's size, not Flux's 1024 px default
    painted = run(flux_engine, request.replace(mode=Mode.INPAINT, init_image=init, mask=mask, mask_feather=0))
    assert (pixels(painted.images[0])[:32] == pixels(init)[:32]).all()
    assert flux_engine.loads == 1


def test_flux_fill_inpaints_and_keeps_outside_pixels(tmp_path: Path) -> None:
    folder = save_flux_pipeline(tmp_path / "tiny-flux-fill", fill=True)
    engine = Engine(resolve=resolve_model, device="cpu")
    request = _request(folder, cfg_scale=30.0)
    init, mask = gradient(), box_mask((64, 64), (16, 16, 48, 48))
    painted = run(engine, request.replace(mode=Mode.INPAINT, init_image=init, mask=mask, mask_feather=0))
    expected = _plain(folder)(
        prompt=PROMPT,
        image=init,
        mask_image=mask,
        width=64,
        height=64,
        strength=request.strength,
        num_inference_steps=2,
        guidance_scale=30.0,
        generator=torch.Generator("cpu").manual_seed(7),
    ).images[0]
    inside = np.asarray(mask) >= 128
    assert np.abs(pixels(painted.images[0])[inside] - pixels(expected)[inside]).max() <= 1
    assert (pixels(painted.images[0])[~inside] == pixels(init)[~inside]).all()
    assert run(engine, request).images[0].size == (64, 64)  # txt2img through the Fill pipeline
    assert engine.loads == 1


def test_flux_schnell_says_guidance_is_unused(tmp_path: Path) -> None:
    folder = save_flux_pipeline(tmp_path / "tiny-flux-schnell", guidance=False)
    result = run(Engine(resolve=resolve_model, device="cpu"), _request(folder, cfg_scale=7.0))
    assert flux.NO_GUIDANCE in result.notices


def _random_taesd(folder: Path, channels: int) -> None:
    torch.manual_seed(0)
    AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1),
        num_decoder_blocks=(1, 1, 1, 1),
        latent_channels=channels,
    ).save_pretrained(folder)


def test_previews_of_16_channel_latents(flux_dir: Path, tmp_path: Path) -> None:
    request = _request(flux_dir)
    steps: list = []
    run(Engine(resolve=resolve_model, device="cpu", preview_interval_s=0.0), request, steps)
    assert [p for _, _, p in steps] == [None, None]  # no linear map for 16 channels: no preview, no crash

    wrong = tmp_path / "sd-taesd"
    _random_taesd(wrong, 4)  # an SD TAESD offered for a Flux model is not used
    steps = []
    engine = Engine(resolve=resolve_model, device="cpu", preview_interval_s=0.0, find_taesd=lambda family: wrong)
    run(engine, request, steps)
    assert [p for _, _, p in steps] == [None, None]

    _random_taesd(previews.taesd_folder(flux.SPEC.taesd_name), 16)  # TAEF1 installed in models/taef1
    steps = []
    run(Engine(resolve=resolve_model, device="cpu", preview_interval_s=0.0), request, steps)
    assert all(p is not None and p.size == (64, 64) for _, _, p in steps)


def test_adopted_pipelines_know_their_family(sd3_dir: Path) -> None:
    engine = Engine(resolve=resolve_model, device="cpu")
    engine.use_pipeline("tiny-sd3", StableDiffusion3Pipeline.from_pretrained(str(sd3_dir), local_files_only=True))
    with pytest.raises(InputError, match="flow matching"):
        run(engine, _request(sd3_dir, model="tiny-sd3", scheduler="ddim"))
    assert run(engine, _request(sd3_dir, model="tiny-sd3")).images[0].size == (64, 64)
