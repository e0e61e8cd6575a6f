"""macOS "Open With" and Finder double-clicks deliver files as ``QFileOpenEvent``s, not arguments."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QFileOpenEvent


class FileOpenEvents(QObject):
    """Installed on the application; emits ``file_opened(path)`` for each file the system asks to open."""

    file_opened = Signal(str)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent) and event.file():
            self.file_opened.emit(event.file())
            return True
        return super().eventFilter(watched, event)
