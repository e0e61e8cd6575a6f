from __future__ import annotations

import json
from pathlib import Path

from desktop_sd.core.schedulers import SCHEDULER_IDS, from_a1111, scheduler_info
from desktop_sd.core.settings import VERSION, Settings


def test_settings_round_trip(tmp_path: Path) -> None:
    s = Settings.load(tmp_path / "s.json")
    s.brush_size, s.offline, s.extra_models = 12, True, ["/models/a.safetensors"]
    s.save()
    again = Settings.load(tmp_path / "s.json")
    assert (again.brush_size, again.offline, again.extra_models) == (12, True, ["/models/a.safetensors"])
    assert again.notice is None


def test_corrupt_settings_are_moved_aside_and_defaults_load(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json")
    s = Settings.load(path)
    assert s.brush_size == Settings().brush_size
    assert s.notice and "defaults loaded" in s.notice
    aside = list(tmp_path.glob("s.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
    assert not path.exists()


def test_a_version_1_file_with_dotted_keys_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    old = {
        "offline": True,
        "prompt": {"steps": 9},
        "window.geometry": "Z2VvbQ==",
        "models.extra": ["/m/x.safetensors"],
        "canvas.brush_size": 20,
        "canvas.hardness": 0.5,
        "files.last_folder": "/home/me/pictures",
    }
    path.write_text(json.dumps(old), encoding="utf-8")
    s = Settings.load(path)
    assert s.offline and s.prompt == {"steps": 9} and s.window_geometry == "Z2VvbQ=="
    assert s.extra_models == ["/m/x.safetensors"] and (s.brush_size, s.brush_hardness) == (20, 0.5)
    assert s.last_folder == "/home/me/pictures"
    s.save()
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["version"] == VERSION and "canvas.brush_size" not in written and written["brush_size"] == 20


def test_mistyped_and_out_of_range_values_fall_back_or_are_clamped(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    data = {"version": VERSION, "brush_size": 99999, "brush_hardness": "hard", "offline": "yes"}
    data["extra_models"] = [3, "/a"]
    path.write_text(json.dumps(data), encoding="utf-8")
    s = Settings.load(path)
    defaults = Settings()
    assert s.brush_size == 1024 and s.brush_hardness == defaults.brush_hardness and s.offline is False
    assert s.extra_models == ["/a"]


def test_keys_of_a_newer_version_are_kept_when_saving(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": VERSION + 1, "theme": "dark", "brush_size": 30}), encoding="utf-8")
    s = Settings.load(path)
    s.save()
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["theme"] == "dark" and written["brush_size"] == 30


def test_every_scheduler_maps_to_and_from_a1111_names() -> None:
    for sid in SCHEDULER_IDS[1:]:
        info = scheduler_info(sid)
        assert from_a1111(info.a1111_sampler, info.a1111_schedule) == sid
    assert from_a1111("DPM++ 2M Karras") == "dpmpp_2m_karras"


def test_deeply_nested_brackets_load_defaults_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    for text in ("[" * 100_000, '{"prompt": ' + "[" * 100_000 + "}"):
        path.write_text(text, encoding="utf-8")
        s = Settings.load(path)
        assert s.brush_size == Settings().brush_size
        assert s.notice and "could not be read" in s.notice and "too deeply nested" in s.notice
        assert not path.exists()


def test_values_of_the_wrong_type_fall_back_with_a_notice_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    for value in ("false", "no", "yes", 1, None):
        path.write_text(json.dumps({"version": VERSION, "offline": value}), encoding="utf-8")
        s = Settings.load(path)
        assert s.offline is False
        assert s.notice == (
            f"Some settings in {path} had values of the wrong type; their defaults are used: "
            f"offline (true or false, not {json.dumps(value)})."
        )
    path.write_text(json.dumps({"version": VERSION, "brush_size": "big", "prompt": [1], "offline": True}), "utf-8")
    s = Settings.load(path)
    assert s.offline is True and s.notice is not None
    assert "brush_size (a number, not \"big\")" in s.notice and "prompt (an object, not [1])" in s.notice


def test_a_long_wrong_value_is_quoted_short(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": VERSION, "window_state": ["x" * 10_000]}), encoding="utf-8")
    notice = Settings.load(path).notice
    assert notice is not None and len(notice) < 300 and "window_state (text, not [" in notice


def test_two_corrupt_files_in_the_same_second_are_both_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    for text in ("{first", "{second", "{third"):
        path.write_text(text, encoding="utf-8")
        assert Settings.load(path).notice
    kept = sorted(p.read_text(encoding="utf-8") for p in tmp_path.glob("s.json.corrupt-*"))
    assert kept == ["{first", "{second", "{third"]
