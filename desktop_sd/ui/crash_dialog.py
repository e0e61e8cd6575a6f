"""The dialog shown when ``app.crash`` reports an unexpected error; the app keeps running behind it.

Not modal: the user can go on working (and save) while it is open. A second
error while it is open updates the same dialog instead of stacking another.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

INTRO = (
    "Desktop SD hit an unexpected error and kept running. If something looks wrong, save your work "
    "and restart the app; the canvas is also autosaved for recovery."
)


class CrashDialog(QDialog):
    """Summary, log path, the traceback, and buttons to copy the details or open the log folder."""

    def __init__(self, summary: str, log_path: str, details: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Something went wrong")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._count = 0

        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(48, 48))
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(intro, 1)

        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log_label = QLabel()
        self.log_label.setWordWrap(True)
        self.log_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_view = QPlainTextEdit()
        self.details_view.setReadOnly(True)
        self.details_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details_view.setMinimumHeight(140)

        buttons = QDialogButtonBox()
        self.copy_button = QPushButton("Copy details")
        self.open_folder_button = QPushButton("Open log folder")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.open_folder_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        self.copy_button.clicked.connect(self.copy_details)
        self.open_folder_button.clicked.connect(self.open_log_folder)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.log_label)
        layout.addWidget(self.details_view, 1)
        layout.addWidget(buttons)
        self.resize(560, 380)
        self.update_report(summary, log_path, details)

    def update_report(self, summary: str, log_path: str, details: str = "") -> None:
        """Show the latest error (a repeat while the dialog is open lands here)."""
        self._count += 1
        self._summary = summary
        self._log_path = log_path
        self._details = details
        more = f" ({self._count} errors so far)" if self._count > 1 else ""
        self.summary_label.setText(f"<b>{_escape(summary)}</b>{more}")
        self.log_label.setText(f"The details were written to {_escape(log_path)}")
        self.details_view.setPlainText(details or summary)

    def details_text(self) -> str:
        """What Copy details puts on the clipboard: enough for a bug report."""
        parts = [self._summary, f"Log: {self._log_path}"]
        if self._details:
            parts.append(self._details.rstrip())
        return "\n".join(parts) + "\n"

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details_text())

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self._log_path).parent)))


def show_crash_dialog(parent: QWidget | None, summary: str, log_path: str, details: str = "") -> CrashDialog:
    """Show the crash dialog without blocking; reuses the one already open over ``parent``."""
    existing = parent.findChild(CrashDialog) if parent is not None else None
    if existing is not None and existing.isVisible():
        existing.update_report(summary, log_path, details)
        existing.raise_()
        return existing
    dialog = CrashDialog(summary, log_path, details, parent)
    dialog.show()
    return dialog


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
