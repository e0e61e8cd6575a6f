"""Every mode through the engine: parity with plain diffusers, seeds, and pixels kept outside the mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline
from PIL import Image

from desktop_sd.core.masks import OUTPAINT_OVERLAP, feather_alpha, outpaint_blend
from desktop_sd.core.request import Borders, GenerationRequest, Mode
from desktop_sd.engine import Engine
from tests.engine.helpers import box_mask, gradient, max_diff, pixels, run


@pytest.fixture(scope="module")
def plain_pipe(tiny_model_dir: Path) -> StableDiffusionPipeline:
    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def far_from_mask(mask: Image.Image, distance: int) -> np.ndarray:
    """Pixels farther than ``distance`` (Euclidean) from any painted pixel."""
    painted = np.argwhere(np.asarray(mask) >= 128)
    h, w = mask.height, mask.width
    yy, xx = np.mgrid[0:h, 0:w]
    nearest = np.full((h, w), np.inf)
    for y, x in painted:
        nearest = np.minimum(nearest, np.hypot(yy - y, xx - x))
    return nearest > distance


def test_txt2img_matches_plain_diffusers(sd_engine: Engine, tiny_request: GenerationRequest, plain_pipe) -> None:
    steps: list = []
    result = run(sd_engine, tiny_request, steps)
    expected = plain_pipe(
        prompt=tiny_request.prompt,
        negative_prompt="",
        width=64,
        height=64,
        num_inference_steps=2,
        guidance_scale=7.0,
        generator=torch.Generator("cpu").manual_seed(42),
    ).images[0]
    assert max_diff(result.images[0], expected) <= 1
    assert [(s, t) for s, t, _ in steps] == [(1, 2), (2, 2)]
    assert result.seeds == (42,) and result.request.seed == 42
    assert result.images[0].size == (64, 64)


def test_img2img_matches_plain_diffusers(sd_engine: Engine, tiny_request: GenerationRequest, plain_pipe) -> None:
    init = gradient()
    request = tiny_request.replace(mode=Mode.IMG2IMG, init_image=init, strength=0.6, steps=4, seed=7)
    steps: list = []
    result = run(sd_engine, request, steps)
    img2img = StableDiffusionImg2ImgPipeline.from_pipe(plain_pipe)
    expected = img2img(
        prompt=request.prompt,
        negative_prompt="",
        image=init,
        strength=0.6,
        num_inference_steps=4,
        guidance_scale=7.0,
        generator=torch.Generator("cpu").manual_seed(7),
    ).images[0]
    assert max_diff(result.images[0], expected) <= 1
    assert steps[-1][:2] == (2, 2)  # strength 0.6 of 4 steps runs the last 2


def test_random_seed_is_drawn_and_reported(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    first = run(sd_engine, tiny_request.replace(seed=None))
    again = run(sd_engine, tiny_request.replace(seed=first.request.seed))
    assert first.request.seed is not None and 0 <= first.request.seed < 2**64
    assert max_diff(first.images[0], again.images[0]) == 0


def test_batch_uses_consecutive_seeds(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    batch = run(sd_engine, tiny_request.replace(batch_size=3, seed=100))
    assert batch.seeds == (100, 101, 102)
    assert len(batch.images) == 3
    second = run(sd_engine, tiny_request.replace(seed=101))
    assert max_diff(batch.images[1], second.images[0]) <= 2
    assert max_diff(batch.images[0], batch.images[1]) > 2


def test_a_batch_at_the_top_of_the_seed_range_wraps_and_each_seed_repeats_its_image(
    sd_engine: Engine, tiny_request: GenerationRequest
) -> None:
    top = 2**64 - 1
    batch = run(sd_engine, tiny_request.replace(batch_size=2, seed=top))
    assert batch.seeds == (top, 0)
    for index, seed in enumerate(batch.seeds):  # every recorded seed is accepted back and repeats its image
        single = run(sd_engine, tiny_request.replace(seed=seed))
        assert max_diff(batch.images[index], single.images[0]) <= 2


def test_inpaint_keeps_pixels_outside_the_mask(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    init = gradient()
    mask = box_mask((64, 64), (20, 20, 44, 44))
    request = tiny_request.replace(mode=Mode.INPAINT, init_image=init, mask=mask, strength=1.0, mask_feather=4)
    result = run(sd_engine, request)
    out, original = pixels(result.images[0]), pixels(init)
    outside = far_from_mask(mask, 4)
    assert (out[outside] == original[outside]).all()
    inside = np.asarray(mask) >= 128
    assert np.abs(out[inside] - original[inside]).mean() > 5  # the masked area really was repainted


def test_inpaint_with_a_dedicated_inpainting_model(
    inpaint_engine: Engine, tiny_inpaint_model_dir: Path, tiny_request: GenerationRequest
) -> None:
    init = gradient()
    mask = box_mask((64, 64), (8, 30, 30, 60))
    request = tiny_request.replace(
        model=str(tiny_inpaint_model_dir), mode=Mode.INPAINT, init_image=init, mask=mask, mask_feather=2
    )
    result = run(inpaint_engine, request)
    outside = far_from_mask(mask, 2)
    assert (pixels(result.images[0])[outside] == pixels(init)[outside]).all()
    inside = np.asarray(mask) >= 128
    assert np.abs(pixels(result.images[0])[inside] - pixels(init)[inside]).mean() > 5


def test_inpainting_model_also_does_txt2img_and_img2img(
    inpaint_engine: Engine, tiny_inpaint_model_dir: Path, tiny_request: GenerationRequest
) -> None:
    request = tiny_request.replace(model=str(tiny_inpaint_model_dir))
    txt = run(inpaint_engine, request)
    img = run(inpaint_engine, request.replace(mode=Mode.IMG2IMG, init_image=gradient(), strength=0.5))
    assert txt.images[0].size == img.images[0].size == (64, 64)
    assert max_diff(txt.images[0], img.images[0]) > 0


def test_zero_feather_changes_only_masked_pixels(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    init = gradient()
    mask = box_mask((64, 64), (0, 0, 16, 64))
    result = run(sd_engine, tiny_request.replace(mode=Mode.INPAINT, init_image=init, mask=mask, mask_feather=0))
    outside = np.asarray(mask) < 128
    assert (pixels(result.images[0])[outside] == pixels(init)[outside]).all()


def test_inpaint_keeps_the_canvas_size_when_it_is_not_a_multiple_of_8(
    sd_engine: Engine, tiny_request: GenerationRequest
) -> None:
    init = gradient((70, 66))
    mask = box_mask((70, 66), (30, 30, 50, 50))
    request = tiny_request.replace(mode=Mode.INPAINT, init_image=init, mask=mask, width=70, height=66)
    result = run(sd_engine, request)
    assert result.images[0].size == (70, 66)
    assert (result.request.width, result.request.height) == (72, 64)  # what the model really ran at
    assert any("multiple of 8" in n for n in result.notices)
    outside = far_from_mask(mask, request.mask_feather)
    assert (pixels(result.images[0])[outside] == pixels(init)[outside]).all()


def test_outpaint_grows_the_canvas_and_keeps_the_original(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    init = gradient((48, 64))
    borders = Borders(left=16, top=0, right=8, bottom=0)
    request = tiny_request.replace(
        mode=Mode.OUTPAINT, init_image=init, outpaint=borders, width=72, height=64, strength=1.0, mask_feather=3
    )
    result = run(sd_engine, request)
    out = pixels(result.images[0])
    assert result.images[0].size == (72, 64)
    margin = OUTPAINT_OVERLAP + 3
    kept = out[:, 16 + margin : 16 + 48 - margin]
    assert (kept == pixels(init)[:, margin : 48 - margin]).all()
    new_area = out[:, :16]
    assert new_area.std() > 1  # something was painted, not a flat fill


def test_outpaint_with_a_painted_mask_repaints_both(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    init = gradient((64, 56))
    painted = box_mask((64, 56), (24, 20, 40, 36))
    request = tiny_request.replace(
        mode=Mode.OUTPAINT, init_image=init, mask=painted, outpaint=Borders(0, 8, 0, 0), height=64, mask_feather=0
    )
    result = run(sd_engine, request)
    out = pixels(result.images[0])[8:]  # the original's rows
    changed = (out != pixels(init)).any(axis=-1)
    assert changed[20:36, 24:40].mean() > 0.5
    assert not changed[OUTPAINT_OVERLAP + 1 :, :20].any()


@pytest.mark.parametrize("feather", [0, 4, 8])
def test_outpaint_changes_the_original_within_the_overlap_whatever_the_feather(
    sd_engine: Engine, tiny_request: GenerationRequest, feather: int
) -> None:
    init = gradient((48, 64))
    request = tiny_request.replace(
        mode=Mode.OUTPAINT, init_image=init, outpaint=Borders(16, 0, 8, 0), width=72, height=64, mask_feather=feather
    )
    out = pixels(run(sd_engine, request).images[0])
    original = out[:, 16 : 16 + 48]
    changed = (original != pixels(init)).any(axis=-1).any(axis=0)  # per column of the original
    assert not changed[OUTPAINT_OVERLAP : 48 - OUTPAINT_OVERLAP].any()
    assert changed[:2].all() and changed[-2:].all()  # the seam itself is repainted


def test_outpaint_blend_weights_stay_inside_the_overlap() -> None:
    borders = Borders(8, 0, 0, 0)
    for feather in (0, 3, 8, 12):
        alpha = outpaint_blend((40, 40), borders, feather)
        assert (alpha[:, :8] == 1).all()  # the new area is all generated
        assert (alpha[:, 8 + OUTPAINT_OVERLAP :] == 0).all(), feather
        assert alpha[20, 8] > 0


def test_feather_blends_only_near_the_mask() -> None:
    mask = box_mask((40, 40), (15, 15, 25, 25))
    alpha = feather_alpha(mask, 4)
    assert (alpha[15:25, 15:25] == 1).all()
    assert 0 < alpha[20, 13] < 1 and alpha[20, 14] > alpha[20, 12]
    assert (alpha[far_from_mask(mask, 4)] == 0).all()


@pytest.mark.parametrize("overlap", [0, 3, 16])
def test_the_outpaint_overlap_is_the_users_to_set(
    sd_engine: Engine, tiny_request: GenerationRequest, overlap: int
) -> None:
    init = gradient((48, 64))
    request = tiny_request.replace(
        mode=Mode.OUTPAINT, init_image=init, outpaint=Borders(16, 0, 0, 0), width=64, height=64,
        mask_feather=4, outpaint_overlap=overlap,
    )  # fmt: skip
    out = pixels(run(sd_engine, request).images[0])
    changed = (out[:, 16:] != pixels(init)).any(axis=-1).any(axis=0)  # per column of the original
    assert not changed[overlap:].any()  # nothing of the original changes past the overlap
    if overlap:
        assert changed[0]  # within it, the seam is repainted
