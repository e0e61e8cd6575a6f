"""SDXL (two text encoders, text-time conditioning) through the same engine paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from desktop_sd.core.request import Borders, GenerationRequest, Mode
from desktop_sd.engine import Engine
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import box_mask, gradient, max_diff, pixels, run


def test_sdxl_runs_every_mode_on_one_load(tiny_sdxl_dir: Path, tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model, device="cpu", preview_interval_s=0.0)
    request = tiny_request.replace(model=str(tiny_sdxl_dir))
    steps: list = []
    txt = run(engine, request, steps)
    assert txt.images[0].size == (64, 64) and steps[0][2] is not None
    again = run(engine, request)
    assert max_diff(txt.images[0], again.images[0]) == 0

    img = run(engine, request.replace(mode=Mode.IMG2IMG, init_image=gradient(), strength=0.5))
    assert img.images[0].size == (64, 64)

    init, mask = gradient(), box_mask((64, 64), (16, 16, 48, 48))
    inpainted = run(engine, request.replace(mode=Mode.INPAINT, init_image=init, mask=mask, mask_feather=0))
    outside = np.asarray(mask) < 128
    assert (pixels(inpainted.images[0])[outside] == pixels(init)[outside]).all()

    out = run(engine, request.replace(mode=Mode.OUTPAINT, init_image=gradient((48, 64)), outpaint=Borders(16, 0, 0, 0)))
    assert out.images[0].size == (64, 64)
    assert engine.loads == 1
    for scheduler in ("euler_a", "dpmpp_2m_karras", "lcm"):
        assert run(engine, request.replace(scheduler=scheduler)).images


def test_sdxl_inpainting_model(tmp_path: Path, tiny_request: GenerationRequest) -> None:
    from desktop_sd.engine.random_models import save_sdxl_pipeline

    folder = save_sdxl_pipeline(tmp_path / "tiny-sdxl-inpaint", inpainting=True)
    engine = Engine(resolve=resolve_model, device="cpu")
    request = tiny_request.replace(model=str(folder))
    init, mask = gradient(), box_mask((64, 64), (0, 32, 64, 64))
    result = run(engine, request.replace(mode=Mode.INPAINT, init_image=init, mask=mask, mask_feather=0))
    assert (pixels(result.images[0])[:32] == pixels(init)[:32]).all()
    assert run(engine, request).images[0].size == (64, 64)  # txt2img through the inpainting pipeline
    assert engine.loads == 1
