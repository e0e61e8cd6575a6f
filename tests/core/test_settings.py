from __future__ import annotations

from pathlib import Path

from desktop_sd.core.schedulers import SCHEDULER_IDS, from_a1111, scheduler_info
from desktop_sd.core.settings import Settings


def test_settings_round_trip(tmp_path: Path) -> None:
    s = Settings(tmp_path / "s.json")
    s.set("steps", 12)
    s.save()
    assert Settings(tmp_path / "s.json").get("steps") == 12


def test_corrupt_settings_are_moved_aside_and_defaults_load(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json")
    s = Settings(path)
    assert s.get("steps") is None
    assert s.notice and "defaults loaded" in s.notice
    aside = list(tmp_path.glob("s.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
    assert not path.exists()


def test_every_scheduler_maps_to_and_from_a1111_names() -> None:
    for sid in SCHEDULER_IDS[1:]:
        info = scheduler_info(sid)
        assert from_a1111(info.a1111_sampler, info.a1111_schedule) == sid
    assert from_a1111("DPM++ 2M Karras") == "dpmpp_2m_karras"
