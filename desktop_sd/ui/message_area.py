"""Non-blocking messages above the canvas: errors, warnings and notices, each with its actions.

Nothing here is modal: the app stays usable while a message is shown, and a
message goes away when dismissed (or, for plain notices, after a while).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from desktop_sd.app.messages import Level

NOTICE_TIMEOUT_MS = 12_000
MAX_MESSAGES = 4


_STYLE = {
    Level.INFO: ("#1f3a52", "#9cd1ff"),
    Level.WARNING: ("#4a3b12", "#ffd479"),
    Level.ERROR: ("#4d1f1f", "#ff9b94"),
}


class MessageBanner(QFrame):
    dismissed = Signal()

    def __init__(self, text: str, level: Level, actions: Sequence[tuple[str, Callable[[], object]]]) -> None:
        super().__init__()
        self.level = level
        self.key = ""  # names the problem, so the message can go once it is solved
        self.setObjectName("message-banner")
        background, accent = _STYLE[level]
        self.setStyleSheet(
            f"#message-banner {{ background: {background}; border-left: 4px solid {accent}; border-radius: 3px; }}"
            f"#message-banner QLabel {{ color: #f0f0f0; }}"
        )
        self.label = QLabel(text, wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        for caption, callback in actions:
            button = QPushButton(caption)
            button.clicked.connect(callback)
            button.clicked.connect(self.dismiss)
            layout.addWidget(button)
            self.buttons.append(button)
        close = QToolButton(autoRaise=True)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setStyleSheet("color: #f0f0f0;")
        close.clicked.connect(self.dismiss)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)

    @property
    def text(self) -> str:
        return self.label.text()

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
        self.deleteLater()


class MessageArea(QWidget):
    """A stack of banners; the newest at the bottom, the oldest dropped past ``MAX_MESSAGES``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 0)
        self._layout.setSpacing(4)
        self._banners: list[MessageBanner] = []
        self.hide()

    def show_message(
        self,
        text: str,
        level: Level | str = Level.INFO,
        actions: Sequence[tuple[str, Callable[[], object]]] | None = None,
        timeout_ms: int | None = None,
        key: str = "",
    ) -> MessageBanner:
        """Show ``text``. Notices without actions fade after a while; errors stay until dismissed, or
        until the problem is gone: a message shown with a ``key`` goes when ``resolved(key)`` is called."""
        level = Level(level)
        for banner in self._banners:
            if banner.text == text and banner.level is level:
                return banner  # the same message twice is shown once
        banner = MessageBanner(text, level, actions or [])
        banner.key = key
        banner.dismissed.connect(lambda: self._forget(banner))
        self._banners.append(banner)
        self._layout.addWidget(banner)
        while len(self._banners) > MAX_MESSAGES:
            self._banners[0].dismiss()
        if timeout_ms is None and level is Level.INFO and not actions:
            timeout_ms = NOTICE_TIMEOUT_MS
        if timeout_ms:
            QTimer.singleShot(timeout_ms, banner, banner.dismiss)
        self.show()
        return banner

    def resolved(self, key: str) -> None:
        """The problem behind the messages shown with ``key`` is gone: so are they."""
        for banner in list(self._banners):
            if key and banner.key == key:
                banner.dismiss()

    def messages(self) -> list[MessageBanner]:
        return list(self._banners)

    def clear(self) -> None:
        for banner in list(self._banners):
            banner.dismiss()

    def _forget(self, banner: MessageBanner) -> None:
        if banner in self._banners:
            self._banners.remove(banner)
        if not self._banners:
            self.hide()
