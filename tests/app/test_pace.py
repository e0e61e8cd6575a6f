"""Estimates before a job starts: from the pace of the last job on the same model and device."""

from __future__ import annotations

import pytest

from desktop_sd.app.pace import LONG_JOB_S, Pace, describe
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


def fast(width: int = 512, height: int = 512, steps: int = 20) -> GenerationRequest:
    return request(width, height, steps).replace(fast_decode=True)


def test_step_and_decode_times_are_remembered_per_size_and_decoder(tmp_path) -> None:
    path = tmp_path / "pace.json"
    pace = Pace(path)
    pace.record_parts("m", "cpu", request(), step_s=2.0, decode_s=20.0)
    pace.record_parts("m", "cpu", fast(), step_s=2.0, decode_s=0.5)
    assert pace.estimate_s("m", "cpu", request(steps=4)) == pytest.approx(4 * 2.0 + 20.0)
    later = Pace(path)  # the next session knows
    assert later.estimate_s("m", "cpu", fast(steps=4)) == pytest.approx(4 * 2.0 + 0.5)
    assert later.decode_s("m", "cpu", request()) == pytest.approx(20.0)
    assert later.estimate_s("m", "cuda", request()) is None and later.estimate_s("other", "cpu", request()) is None


def test_an_unmeasured_size_scales_from_the_nearest_measured_one(tmp_path) -> None:
    pace = Pace(tmp_path / "pace.json")
    pace.record_parts("m", "cpu", request(256, 256), step_s=1.0, decode_s=4.0)
    pace.record_parts("m", "cpu", request(1024, 1024), step_s=30.0, decode_s=90.0)
    # 512x512 is four times 256x256's pixels, a quarter of 1024x1024's: equally near both (log scale).
    assert pace.estimate_s("m", "cpu", request(768, 768, steps=2)) == pytest.approx((2 * 30.0 + 90.0) * 0.5625)
    assert pace.estimate_s("m", "cpu", request(320, 320, steps=2)) == pytest.approx((2 * 1.0 + 4.0) * 1.5625)


def test_a_damaged_times_file_is_ignored_and_rewritten(tmp_path) -> None:
    path = tmp_path / "pace.json"
    path.write_text("{not json", encoding="utf-8")
    pace = Pace(path)
    assert pace.estimate_s("m", "cpu", request()) is None
    pace.record_parts("m", "cpu", request(), step_s=1.5, decode_s=3.0)
    assert Pace(path).estimate_s("m", "cpu", request(steps=2)) == pytest.approx(6.0)


def test_estimates_read_as_people_say_them() -> None:
    assert describe(None) == ""
    assert describe(44.6) == "about 45 s"
    assert describe(200) == "about 3 min"
