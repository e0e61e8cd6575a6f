"""The frozen app keeps user files in the user's folders, never inside its own (often read-only) folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from desktop_sd.cli import selftest
from desktop_sd.core import paths


@pytest.fixture
def frozen_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Look like a PyInstaller one-folder app started from inside its folder, for a user with a plain HOME."""
    bundle = tmp_path / "opt" / "desktop-sd"
    (bundle / "_internal").mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle / "_internal"), raising=False)
    monkeypatch.setattr(sys, "executable", str(bundle / "desktop-sd"))
    monkeypatch.chdir(bundle)
    monkeypatch.delenv("DESKTOP_SD_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    return bundle


def test_no_user_path_falls_inside_the_bundle(frozen_bundle: Path, tmp_path: Path) -> None:
    user_paths = {
        "data": paths.data_dir(),
        "config": paths.config_dir(),
        "cache": paths.cache_dir(),
        "logs": paths.log_dir(),
        "models": paths.models_dir(),
        "library": paths.default_library_dir(),
        "settings": paths.settings_file(),
    }
    for kind, path in user_paths.items():
        assert not path.resolve().is_relative_to(frozen_bundle), f"{kind} folder {path} is inside the app"
        assert path.resolve().is_relative_to(tmp_path / "home"), f"{kind} folder {path} is not the user's"
    assert paths.resources_dir() == frozen_bundle / "_internal" / "resources"  # read-only data does live there


@pytest.mark.parametrize("inside", ["_internal/home", "home"])
def test_selftest_refuses_user_folders_inside_the_bundle(
    frozen_bundle: Path, monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    monkeypatch.setenv("DESKTOP_SD_HOME", str(frozen_bundle / inside))
    with pytest.raises(RuntimeError, match="inside the app's own folder"):
        selftest._folders()


def test_selftest_accepts_the_users_folders(frozen_bundle: Path) -> None:
    rows = dict(selftest._folders())
    assert not Path(rows["user data"]).is_relative_to(frozen_bundle)
