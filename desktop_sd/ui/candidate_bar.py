"""The bar over the canvas for generated candidates: step through a batch, apply one, or discard."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from desktop_sd.app.candidates import Candidates


class CandidateBar(QFrame):
    def __init__(
        self,
        candidates: Candidates,
        previous: QAction,
        next_: QAction,
        apply: QAction,
        discard: QAction,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("candidate-bar")
        self.setStyleSheet(
            "#candidate-bar { background: rgba(25, 25, 28, 225); border: 1px solid #555; border-radius: 6px; }"
            "#candidate-bar QLabel { color: #eee; padding: 0 6px; }"
        )
        self._candidates = candidates
        self._actions = (previous, next_, apply, discard)
        self.counter = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        for action in (previous, next_):
            layout.addWidget(_button(action))
        layout.insertWidget(1, self.counter)
        layout.addSpacing(8)
        layout.addWidget(_button(apply))
        layout.addWidget(_button(discard))
        candidates.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        count = len(self._candidates)
        for action, needed in zip(self._actions, (2, 2, 1, 1), strict=True):
            action.setEnabled(count >= needed)
        self.counter.setText(f"{self._candidates.index + 1} / {count}" if count else "")
        self.setVisible(count > 0)
        self.adjustSize()
        parent = self.parentWidget()
        if parent is not None:
            self.move((parent.width() - self.width()) // 2, parent.height() - self.height() - 16)
            self.raise_()


def _button(action: QAction) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    if not action.icon().isNull():  # named in menus and tooltips; an arrow is enough on the bar
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    button.setToolTip(f"{action.text().replace('&', '')} ({action.shortcut().toString()})")
    button.setStyleSheet(
        "QToolButton { color: #eee; background: #3a3a40; border: 1px solid #5a5a62; border-radius: 4px;"
        " padding: 3px 10px; }"
        "QToolButton:hover { background: #4a4a52; }"
        "QToolButton:disabled { color: #777; }"
    )
    return button
