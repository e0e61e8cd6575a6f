"""User folders that cannot be made or written: a message naming the folder and how to choose another."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_sd.core import paths
from desktop_sd.core.errors import DesktopSDError


def test_a_user_folder_that_cannot_be_made_names_itself_and_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("DESKTOP_SD_HOME", str(blocker / "home"))
    with pytest.raises(DesktopSDError) as caught:
        paths.config_dir()
    message = str(caught.value)
    assert f"settings folder {blocker / 'home' / 'config'}" in message
    assert "DESKTOP_SD_HOME" in message
    assert isinstance(caught.value, OSError)  # callers that handle disk errors still do
