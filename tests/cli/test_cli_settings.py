"""Every command reports a damaged settings file once, on stderr, and carries on with defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_sd.cli import main


def test_a_command_notes_a_damaged_settings_file_once_and_runs(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_file = isolated_home / "config" / "settings.json"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('{"offline": ' + "[" * 100_000, encoding="utf-8")
    assert main(["models", "offline"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "off"
    assert err.count("note: The settings file could not be read") == 1 and "Traceback" not in err
    assert list(settings_file.parent.glob("settings.json.corrupt-*"))


def test_a_wrongly_typed_offline_setting_is_noted_and_means_off(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_file = isolated_home / "config" / "settings.json"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('{"version": 2, "offline": "false"}', encoding="utf-8")
    assert main(["models", "offline"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "off"
    assert err.count('offline (true or false, not "false")') == 1
