"""Estimates before a job starts: from the pace of the last job on the same model and device."""

from __future__ import annotations

import pytest

from desktop_sd.app.pace import LONG_JOB_S, Pace
from desktop_sd.core.request import GenerationRequest, Mode


def request(width: int = 512, height: int = 512, steps: int = 20, batch: int = 1) -> GenerationRequest:
    return GenerationRequest(Mode.TXT2IMG, "x", model="m", width=width, height=height, steps=steps, batch_size=batch)


def test_an_estimate_scales_with_pixels_steps_and_batch() -> None:
    pace = Pace()
    assert pace.estimate_s("m", "cpu", request()) is None  # nothing measured yet
    pace.record("m", "cpu", request(), 40.0)
    assert pace.estimate_s("m", "cpu", request()) == pytest.approx(40.0)
    assert pace.estimate_s("m", "cpu", request(1024, 1024, steps=40, batch=2)) == pytest.approx(40.0 * 4 * 2 * 2)
    assert pace.estimate_s("m", "cuda", request()) is None  # another device has its own pace


def test_a_job_estimated_past_five_minutes_is_asked_about_with_the_estimate() -> None:
    pace = Pace()
    pace.record("m", "cpu", request(), 60.0)
    assert pace.warning("m", "cpu", request()) is None
    big = request(2048, 2048)  # 16 times the pixels: about 16 minutes
    text = pace.warning("m", "cpu", big)
    assert text is not None and "about 16 min" in text and "2048×2048" in text
    assert pace.estimate_s("m", "cpu", big) > LONG_JOB_S


def test_an_unmeasured_huge_cpu_job_is_asked_about_by_size() -> None:
    pace = Pace()
    assert pace.warning("m", "cpu", request(4096, 4096, steps=4)) is not None
    assert pace.warning("m", "cpu", request(1024, 1024)) is None
    assert pace.warning("m", "cuda", request(4096, 4096)) is None  # the GPU's memory tiers handle size
