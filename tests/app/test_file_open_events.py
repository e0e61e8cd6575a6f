"""Files handed over by the system (macOS Open With) reach the app as a signal."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtGui import QFileOpenEvent
from pytestqt.qtbot import QtBot

from desktop_sd.app.file_open_events import FileOpenEvents


def test_a_file_open_event_is_reported_with_its_path(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(b"")
    app = QCoreApplication.instance()
    assert app is not None
    events = FileOpenEvents()
    app.installEventFilter(events)
    try:
        with qtbot.waitSignal(events.file_opened, timeout=5_000) as opened:
            QCoreApplication.sendEvent(app, QFileOpenEvent(str(path)))
        assert Path(opened.args[0]) == path
    finally:
        app.removeEventFilter(events)


def test_other_events_pass_through(qtbot: QtBot) -> None:
    events = FileOpenEvents()
    target = QObject()
    target.installEventFilter(events)
    received: list[str] = []
    events.file_opened.connect(received.append)
    QCoreApplication.sendEvent(target, QEvent(QEvent.Type.User))
    assert received == []
