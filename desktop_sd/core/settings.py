"""User settings: one JSON file under the config folder.

A file that fails to parse is moved aside (never overwritten) and defaults
load; the caller shows ``Settings.notice`` to the user.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from desktop_sd.core import paths
from desktop_sd.core.atomic import atomic_write


class Settings:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.settings_file()
        self.notice: str | None = None
        self._data: dict[str, Any] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("settings must be a JSON object")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(self.path, aside)
                where = f"it was moved to {aside}"
            except OSError:
                where = "it could not be moved aside"
            self.notice = f"The settings file could not be read ({exc}); defaults loaded, {where}."
            return
        self._data = data

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._data[key] = value

    def update(self, values: dict[str, Any]) -> None:
        self._data.update(values)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def save(self) -> None:
        """Write atomically (temp file, flush, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self._data, indent=2, sort_keys=True)
        atomic_write(self.path, lambda stream: stream.write(text.encode("utf-8")))
