"""Where the window and its docks were: kept in the settings between runs (Qt's own state, base64)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QMainWindow, QWidget

from desktop_sd.core.settings import Settings

LAYOUT_VERSION = 1  # raise when docks change so an old saved layout is not applied to new docks


class PanelsToggle:
    """Hides every panel for the canvas alone, and brings back exactly those that were showing."""

    def __init__(self, panels: Callable[[], Sequence[QWidget]]) -> None:
        self._panels = panels
        self._hidden: list[QWidget] = []

    def set_hidden(self, hidden: bool) -> None:
        if hidden:
            self._hidden = [panel for panel in self._panels() if panel.isVisible()]
            for panel in self._hidden:
                panel.hide()
        else:
            for panel in self._hidden:
                panel.show()
            self._hidden = []


def restore_layout(window: QMainWindow, settings: Settings) -> None:
    if settings.window_geometry:
        window.restoreGeometry(QByteArray.fromBase64(settings.window_geometry.encode("ascii")))
    if settings.window_state:
        window.restoreState(QByteArray.fromBase64(settings.window_state.encode("ascii")), LAYOUT_VERSION)


def remember_layout(window: QMainWindow, settings: Settings) -> None:
    settings.window_geometry = bytes(window.saveGeometry().toBase64().data()).decode("ascii")
    settings.window_state = bytes(window.saveState(LAYOUT_VERSION).toBase64().data()).decode("ascii")
