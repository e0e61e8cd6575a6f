"""Commands with an unusable user folder or a full disk: one ``error:`` line, no traceback, nothing lost."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from desktop_sd.cli import main
from desktop_sd.core.settings import Settings


@pytest.mark.parametrize("argv", [["models", "list"], ["models", "offline", "on"], ["library", "rebuild"]])
def test_an_unwritable_home_gives_one_error_line(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("DESKTOP_SD_HOME", str(blocker / "home"))
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Desktop SD cannot use its ") and "DESKTOP_SD_HOME" in err
    assert len(err.strip().splitlines()) == 1


def test_offline_on_a_full_disk_says_so_and_keeps_the_settings(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.load()
    settings.brush_size = 99
    settings.save()
    before = settings.path.read_bytes()

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    assert main(["models", "offline", "on"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Could not save the settings") and "the disk is full" in err
    assert "previous settings were kept" in err and "Traceback" not in err
    assert settings.path.read_bytes() == before
