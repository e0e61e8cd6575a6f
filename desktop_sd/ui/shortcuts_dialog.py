"""Help > Keyboard shortcuts: every shortcut of the window by name, read from the actions themselves."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_sd.ui.local_keys import PROPERTY

# Keys that are no action of their own.
GESTURES = [
    ("Canvas", "Hide or show every panel", "Tab (on the canvas)"),
    ("Canvas", "Pan", "Space+drag, or the middle button"),
    ("Canvas", "Zoom", "Mouse wheel"),
    ("History", "Send to canvas", "Enter"),
]


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(where, what, keys) for every action of ``window`` that has a shortcut, then the gestures."""
    rows: set[tuple[str, str, str]] = set()
    for action in window.findChildren(QAction):
        if action.shortcut().isEmpty():
            continue
        name = action.text().replace("&", "").split("\t")[0].rstrip("…")
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        local = any(isinstance(w, QWidget) and w.property(PROPERTY) for w in action.associatedObjects())
        rows.add(("History (thumbnails focused)" if local else "Window", name, keys))
    return sorted(rows, key=lambda row: (row[0] != "Window", row[0], row[1])) + GESTURES


class ShortcutsDialog(QDialog):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Where", "What", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, min(640, window.height()))
