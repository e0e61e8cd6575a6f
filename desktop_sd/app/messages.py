"""How serious a message for the user is; the window shows each level in its own colour."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
