"""Start work once a window has painted for the first time, so it cannot delay the window appearing."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer


class _FirstPaint(QObject):
    def __init__(self, watched: QObject, then: Callable[[], None]) -> None:
        super().__init__(watched)  # goes with the window
        self._then = then
        watched.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._then)  # after this paint has been delivered
            self.deleteLater()
        return False


def after_first_paint(window: QObject, then: Callable[[], None]) -> None:
    """Call ``then`` on this thread right after ``window``'s first paint (install before showing it)."""
    _FirstPaint(window, then)
