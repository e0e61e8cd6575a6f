"""The questions the gallery asks the user, in one replaceable object (tests answer them without a screen)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget


class GalleryDialogs:
    """Dialogs used by ``GalleryDock``; subclass or replace to answer them another way.

    Questions are modal. Errors and notices go to ``notify(text, level)`` when the
    window sets it (its non-blocking message area), else to a message box.
    """

    def __init__(self, notify: Callable[[str, str], None] | None = None) -> None:
        self.notify = notify

    def confirm_delete(self, parent: QWidget, count: int) -> bool:
        what = "this image" if count == 1 else f"these {count} images"
        answer = QMessageBox.question(
            parent,
            "Delete images",
            f"Move {what} to the trash and remove {'it' if count == 1 else 'them'} from the history?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def choose_folder(self, parent: QWidget, title: str) -> Path | None:
        folder = QFileDialog.getExistingDirectory(parent, title)
        return Path(folder) if folder else None

    def edit_tags(self, parent: QWidget, tags: list[str]) -> list[str] | None:
        text, ok = QInputDialog.getText(parent, "Tags", "Tags, separated by commas:", text=", ".join(tags))
        return [t.strip() for t in text.split(",") if t.strip()] if ok else None

    def error(self, parent: QWidget, message: str) -> None:
        if self.notify is not None:
            self.notify(message, "error")
        else:
            QMessageBox.warning(parent, "History", message)

    def info(self, parent: QWidget, message: str) -> None:
        if self.notify is not None:
            self.notify(message, "info")
        else:
            QMessageBox.information(parent, "History", message)
