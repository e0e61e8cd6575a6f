"""Where the app keeps its files: the platform's user folders.

``DESKTOP_SD_HOME`` points everything at one folder instead (tests, portable
installs). The frozen app never writes inside its own install folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from desktop_sd.core.disk_errors import os_error_reason
from desktop_sd.core.errors import StorageError

APP_NAME = "desktop-sd"
_FOLDER_NAMES = {"data": "data", "config": "settings", "cache": "cache", "logs": "log"}


def _home() -> Path | None:
    value = os.environ.get("DESKTOP_SD_HOME")
    return Path(value) if value else None


def _dir(kind: str) -> Path:
    home = _home()
    if home is not None:
        path = home / kind
    else:
        getter = {
            "data": platformdirs.user_data_path,
            "config": platformdirs.user_config_path,
            "cache": platformdirs.user_cache_path,
            "logs": platformdirs.user_log_path,
        }[kind]
        path = getter(APP_NAME, appauthor=False)
    return _made(path, _FOLDER_NAMES[kind])


def _made(path: Path, name: str) -> Path:
    """``path``, created if need be. Raises ``StorageError`` naming the folder and the way out."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"Desktop SD cannot use its {name} folder {path}: {os_error_reason(exc)}. Set DESKTOP_SD_HOME to a "
            "folder you can write to (Desktop SD then keeps all its files there), or make this one writable."
        ) from exc
    return path


def data_dir() -> Path:
    return _dir("data")


def config_dir() -> Path:
    return _dir("config")


def cache_dir() -> Path:
    return _dir("cache")


def log_dir() -> Path:
    return _dir("logs")


def models_dir() -> Path:
    return _made(data_dir() / "models", "models")


def default_library_dir() -> Path:
    return _made(data_dir() / "library", "library")


def settings_file() -> Path:
    return config_dir() / "settings.json"


def resources_dir() -> Path:
    """The shipped ``resources/`` folder (beside the package, or in a bundle)."""
    import sys

    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    packaged = Path(__file__).resolve().parents[1] / "resources"  # wheel install
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "resources"  # source checkout
