"""The crash dialog: non-blocking, one at a time, copies the details, opens the log folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop_sd.ui.crash_dialog import CrashDialog, show_crash_dialog

TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1, in f\nValueError: boom\n'


def test_dialog_shows_the_error_without_blocking_the_window(qtbot: QtBot, tmp_path: Path) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    log = str(tmp_path / "logs" / "desktop-sd.log")

    dialog = show_crash_dialog(window, "ValueError: boom", log, TRACEBACK)

    assert dialog.isVisible() and not dialog.isModal()
    assert "ValueError: boom" in dialog.summary_label.text()
    assert log in dialog.log_label.text()
    assert "line 1, in f" in dialog.details_view.toPlainText()
    assert window.isEnabled()


def test_a_second_error_updates_the_open_dialog(qtbot: QtBot, tmp_path: Path) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    first = show_crash_dialog(window, "ValueError: one", "/tmp/log", "")
    second = show_crash_dialog(window, "KeyError: two", "/tmp/log", "")

    assert second is first
    assert window.findChildren(CrashDialog) == [first]
    assert "KeyError: two" in first.summary_label.text() and "2 errors" in first.summary_label.text()


def test_copy_details_puts_summary_log_path_and_traceback_on_the_clipboard(qtbot: QtBot) -> None:
    dialog = CrashDialog("ValueError: boom", "/logs/desktop-sd.log", TRACEBACK)
    qtbot.addWidget(dialog)

    dialog.copy_button.click()

    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("ValueError: boom\nLog: /logs/desktop-sd.log\n")
    assert "line 1, in f" in copied


def test_open_log_folder_opens_the_folder_holding_the_log(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    dialog = CrashDialog("ValueError: boom", "/logs/here/desktop-sd.log")
    qtbot.addWidget(dialog)

    dialog.open_folder_button.click()

    assert [u.toLocalFile() for u in opened] == ["/logs/here"]
