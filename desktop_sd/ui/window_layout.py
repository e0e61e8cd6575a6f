"""Where the window and its docks were: kept in the settings between runs (Qt's own state, base64)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QMainWindow

from desktop_sd.core.settings import Settings

LAYOUT_VERSION = 1  # raise when docks change so an old saved layout is not applied to new docks


def restore_layout(window: QMainWindow, settings: Settings) -> None:
    if settings.window_geometry:
        window.restoreGeometry(QByteArray.fromBase64(settings.window_geometry.encode("ascii")))
    if settings.window_state:
        window.restoreState(QByteArray.fromBase64(settings.window_state.encode("ascii")), LAYOUT_VERSION)


def remember_layout(window: QMainWindow, settings: Settings) -> None:
    settings.window_geometry = bytes(window.saveGeometry().toBase64().data()).decode("ascii")
    settings.window_state = bytes(window.saveState(LAYOUT_VERSION).toBase64().data()).decode("ascii")
