"""Crash reporting: errors in slots, threads and native code are logged and reported; the app goes on."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot, qWarning
from pytestqt.qtbot import QtBot

from desktop_sd.app import crash
from desktop_sd.app.crash import CrashReporter, install

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def reporter(tmp_path: Path) -> Iterator[CrashReporter]:
    installed = install(tmp_path / "logs")
    yield installed
    installed.uninstall()


def log_text(reporter: CrashReporter) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return reporter.log_path().read_text(encoding="utf-8")


class Emitter(QObject):
    fire = Signal()


def failing_slot() -> None:
    raise ValueError("boom in a slot")


def test_exception_in_a_slot_is_logged_and_reported_and_the_loop_goes_on(qtbot: QtBot, reporter: CrashReporter) -> None:
    emitter = Emitter()
    emitter.fire.connect(failing_slot)
    later = []

    with qtbot.waitSignal(reporter.crashed, timeout=5000) as blocker:
        QTimer.singleShot(0, emitter.fire.emit)
        QTimer.singleShot(0, lambda: later.append("still running"))

    summary, path = blocker.args
    assert summary == "ValueError: boom in a slot"
    assert path == str(reporter.log_path())
    qtbot.waitUntil(lambda: later == ["still running"])
    text = log_text(reporter)
    assert "Traceback (most recent call last)" in text
    assert "failing_slot" in text and "ValueError: boom in a slot" in text
    assert "failing_slot" in reporter.last_details()


def test_exception_in_a_python_thread_is_logged_and_reported(qtbot: QtBot, reporter: CrashReporter) -> None:
    def work() -> None:
        raise RuntimeError("boom in a thread")

    thread = threading.Thread(target=work, name="loader")
    with qtbot.waitSignal(reporter.crashed, timeout=5000) as blocker:
        thread.start()
        thread.join()

    assert blocker.args[0] == "RuntimeError: boom in a thread"
    text = log_text(reporter)
    assert "thread 'loader'" in text and "boom in a thread" in text and "in work" in text


class Worker(QObject):
    run_job = Signal()
    ping = Signal()
    pong = Signal()

    @Slot()
    def job(self) -> None:
        raise KeyError("missing in worker")

    @Slot()
    def answer(self) -> None:
        self.pong.emit()


def test_exception_in_a_worker_qthread_slot_is_reported_and_the_worker_keeps_serving(
    qtbot: QtBot, reporter: CrashReporter
) -> None:
    thread = QThread()
    worker = Worker()
    worker.moveToThread(thread)
    worker.run_job.connect(worker.job)
    worker.ping.connect(worker.answer)
    thread.start()
    try:
        with qtbot.waitSignal(reporter.crashed, timeout=5000) as blocker:
            worker.run_job.emit()
        assert blocker.args[0] == "KeyError: 'missing in worker'"
        assert thread.isRunning()
        # The same failure again is logged, not reported again (no flood of dialogs).
        with qtbot.assertNotEmitted(reporter.crashed, wait=0), qtbot.waitSignal(worker.pong, timeout=5000):
            worker.run_job.emit()
            worker.ping.emit()  # answered after the job, so any report of it has been delivered by then
        assert log_text(reporter).count("Unhandled exception in thread") == 2
    finally:
        thread.quit()
        thread.wait()


def test_qt_warnings_land_in_the_log(reporter: CrashReporter) -> None:
    qWarning("a warning from Qt itself")

    assert "a warning from Qt itself" in log_text(reporter)


def test_log_path_names_the_file_in_use(reporter: CrashReporter, tmp_path: Path) -> None:
    assert crash.log_path() == tmp_path / "logs" / "desktop-sd.log"
    assert "Desktop SD" in log_text(reporter)  # the start line, with versions for bug reports


def test_uninstall_puts_the_previous_hooks_back(tmp_path: Path) -> None:
    before = (sys.excepthook, threading.excepthook, logging.getLogger().level)
    installed = install(tmp_path / "logs")
    assert (sys.excepthook, threading.excepthook) != before[:2]
    root_handlers = len(logging.getLogger().handlers)

    again = install(tmp_path / "logs2")  # installing twice replaces, never stacks
    assert len(logging.getLogger().handlers) == root_handlers
    again.uninstall()
    installed.uninstall()

    assert (sys.excepthook, threading.excepthook, logging.getLogger().level) == before


NATIVE_CRASH = """
import faulthandler, sys
from pathlib import Path
from desktop_sd.app.crash import install
install(Path(sys.argv[1]))
print("installed", flush=True)
faulthandler._sigsegv()
"""


def test_a_native_crash_leaves_its_stack_and_the_next_start_notices(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = subprocess.run(
        [sys.executable, "-c", NATIVE_CRASH, str(logs)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "installed" in result.stdout

    reporter = install(logs)
    try:
        assert reporter.previous_native_crash is not None
        stack = reporter.previous_native_crash.read_text(encoding="utf-8")
        assert "Fatal Python error: Segmentation fault" in stack
        assert "<string>" in stack  # the Python frame that crashed
        assert "crashed natively" in log_text(reporter)
    finally:
        reporter.uninstall()
