"""One instance per user and data folder: second launches hand over their arguments; crash debris never blocks."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray
from PySide6.QtNetwork import QLocalSocket
from pytestqt.qtbot import QtBot

from desktop_sd.app.single_instance import SingleInstance, default_key

ROOT = Path(__file__).resolve().parents[2]

SEND = """
import sys
from PySide6.QtCore import QCoreApplication
from desktop_sd.app.single_instance import SingleInstance
app = QCoreApplication([])
instance = SingleInstance()
primary = instance.try_become_primary()
sent = False if primary else instance.send_to_primary(sys.argv[1:], timeout_ms=20_000)
print(f"primary={primary} sent={sent}", flush=True)
"""

HOLD = """
from PySide6.QtCore import QCoreApplication
from desktop_sd.app.single_instance import SingleInstance
app = QCoreApplication([])
instance = SingleInstance()
print(f"primary={instance.try_become_primary()}", flush=True)
app.exec()
"""


def child(code: str, *args: str, cwd: Path = ROOT) -> subprocess.Popen[str]:
    """Run ``code`` in a fresh interpreter with this checkout importable (also used by other test modules)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)},
    )


def first_line(proc: subprocess.Popen[str], qtbot: QtBot, timeout_s: float = 60) -> str:
    """The one line the child prints, while this process's event loop keeps turning (a primary must answer).

    Children print a single line: a second one could sit in the pipe's read buffer, unseen by the selector.
    """
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    qtbot.waitUntil(lambda: bool(selector.select(timeout=0)) or proc.poll() is not None, timeout=int(timeout_s * 1000))
    line = proc.stdout.readline().strip()
    if not line:
        raise AssertionError(f"the child ended without a word: {proc.communicate(timeout=30)[1]}")
    return line


def finish(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


@pytest.fixture
def primary(qapp: object) -> Iterator[SingleInstance]:
    instance = SingleInstance()
    assert instance.try_become_primary()
    yield instance
    instance.release()


def test_only_one_instance_is_primary_until_it_releases(primary: SingleInstance) -> None:
    second = SingleInstance()
    assert not second.try_become_primary()

    primary.release()

    assert second.try_become_primary()
    second.release()


def test_different_data_folders_get_different_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = default_key()
    monkeypatch.setenv("DESKTOP_SD_HOME", str(tmp_path / "other-home"))

    assert default_key() != first


def test_a_second_launch_hands_its_file_to_the_first(qtbot: QtBot, primary: SingleInstance, tmp_path: Path) -> None:
    (tmp_path / "photo 写真.png").write_bytes(b"not read here")
    received: list[list[str]] = []
    primary.message_received.connect(received.append)

    proc = child(SEND, "photo 写真.png", "--flag", cwd=tmp_path)
    try:
        line = first_line(proc, qtbot)
    finally:
        finish(proc)

    assert line == "primary=False sent=True"
    assert received == [[str((tmp_path / "photo 写真.png").resolve()), "--flag"]]


def test_sending_with_no_primary_gives_up_quietly(qapp: object) -> None:
    started = time.monotonic()

    assert not SingleInstance().send_to_primary(["x"], timeout_ms=300)
    assert time.monotonic() - started < 10


def test_a_garbled_message_is_ignored_and_the_next_one_served(qtbot: QtBot, primary: SingleInstance) -> None:
    received: list[list[str]] = []
    primary.message_received.connect(received.append)
    socket = QLocalSocket()
    socket.connectToServer(primary.key)
    qtbot.waitUntil(lambda: socket.state() == QLocalSocket.LocalSocketState.ConnectedState)
    socket.write(QByteArray(b"\x00\x00\x00\x05hello"))
    qtbot.waitUntil(lambda: socket.state() == QLocalSocket.LocalSocketState.UnconnectedState)

    proc = child(SEND, "--again")
    try:
        line = first_line(proc, qtbot)
    finally:
        finish(proc)

    assert line == "primary=False sent=True"
    assert received == [["--again"]]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_lock_left_by_a_killed_instance_does_not_block_the_next_start(qtbot: QtBot, qapp: object) -> None:
    holder = child(HOLD)
    try:
        assert first_line(holder, qtbot) == "primary=True"
        assert not SingleInstance().try_become_primary()  # alive: it really is the primary
    finally:
        holder.send_signal(signal.SIGKILL)
        finish(holder)
    lock_path = SingleInstance().lock_path
    assert lock_path.exists()  # the dead process's lock file is still there

    restarted = SingleInstance()
    try:
        assert restarted.try_become_primary()
        # Its socket was left behind too; the new primary listens again and serves second launches.
        received: list[list[str]] = []
        restarted.message_received.connect(received.append)
        proc = child(SEND, "--hello")
        try:
            assert first_line(proc, qtbot) == "primary=False sent=True"
        finally:
            finish(proc)
        assert received == [["--hello"]]
    finally:
        restarted.release()


def test_an_unreadable_old_lock_file_is_taken_over(qapp: object) -> None:
    instance = SingleInstance()
    instance.lock_path.write_bytes(b"")  # a crash while the lock was being written
    old = time.time() - 60
    os.utime(instance.lock_path, (old, old))

    try:
        assert instance.try_become_primary()
    finally:
        instance.release()


def test_a_fresh_unreadable_lock_file_is_respected(qapp: object) -> None:
    instance = SingleInstance()
    instance.lock_path.write_bytes(b"")  # maybe an instance writing its lock right now

    assert not instance.try_become_primary()
