"""One running app per user and data folder; a second launch hands its arguments to the first and exits.

Two pieces, each robust to a crashed predecessor:

- a ``QLockFile`` in the data folder says who is primary. Its stale time is 0,
  so only a dead owner (Qt checks the PID, process name and boot id) makes it
  stale, never its age; a lock file too damaged to name an owner is taken over
  once it is a few seconds old.
- a ``QLocalServer`` (a Unix socket or a Windows named pipe) receives the
  arguments. A socket file left by a crashed primary is removed with
  ``QLocalServer.removeServer`` before listening; only the same user may connect.

Message: 4-byte big-endian length, then UTF-8 JSON ``{"args": [str, ...]}``;
the primary answers one byte once it has emitted ``message_received``.

Usage at start-up (``cli/gui.py``)::

    instance = SingleInstance()
    if not instance.try_become_primary():
        return 0 if instance.send_to_primary(argv) else 1
    instance.message_received.connect(window.files.handle_second_launch)
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import logging
import struct
import time
from pathlib import Path

import psutil
from PySide6.QtCore import QByteArray, QLockFile, QObject, QSysInfo, QThread, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from desktop_sd.core import paths

ACK = b"\x01"
HEADER = struct.Struct(">I")
MAX_MESSAGE_BYTES = 1024 * 1024
UNREADABLE_LOCK_GRACE_S = 5.0  # a live owner writes its lock file at once; an unreadable older one is debris
RETRY_MS = 50

log = logging.getLogger(__name__)


def default_key() -> str:
    """One key per user and data folder, so separate ``DESKTOP_SD_HOME`` folders never collide."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (some containers): the home folder still tells users apart
        user = str(Path.home())
    data = str(paths.data_dir().resolve())
    return "desktop-sd-" + hashlib.sha256(f"{user}\0{data}".encode()).hexdigest()[:16]


class SingleInstance(QObject):
    """Decides whether this process is the primary instance and carries messages to it."""

    message_received = Signal(list)  # the arguments a second launch passed on

    def __init__(self, key: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key or default_key()
        self.lock_path = paths.data_dir() / f"{self.key}.lock"
        self._lock = QLockFile(str(self.lock_path))
        self._lock.setStaleLockTime(0)
        self._server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytearray] = {}

    # ---- primary -------------------------------------------------------------------------

    def try_become_primary(self) -> bool:
        """Take the lock (clearing one left by a crash) and listen; False if another instance runs."""
        if self._server is not None:
            return True
        if not self._lock.tryLock(0):
            if self._lock.error() != QLockFile.LockError.LockFailedError:
                log.warning("Cannot create %s; running without the single-instance check", self.lock_path)
                return True
            if not self._clear_stale_lock() or not self._lock.tryLock(0):
                return False
        QLocalServer.removeServer(self.key)  # a socket left by a crashed primary would block listen()
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        server.newConnection.connect(self._on_new_connection)
        if not server.listen(self.key):
            log.warning("Cannot listen for second launches: %s", server.errorString())
        self._server = server
        return True

    def release(self) -> None:
        """Stop listening and drop the lock (also done when the process exits)."""
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()

    def owner_pid(self) -> int | None:
        """The process id of the running instance that holds the lock, if the lock names one."""
        pid, _hostname, _app = self._lock.getLockInfo()
        return pid if pid > 0 else None

    def end_owner(self, timeout_s: float = 8.0) -> bool:
        """End the instance that holds the lock but does not answer (asked of the user first).

        It is asked to terminate (a Desktop SD window then saves its canvas for
        recovery and quits), and killed if it is still there after ``timeout_s``.
        Only a process that is Desktop SD is touched. True once it is gone.
        """
        pid = self.owner_pid()
        if pid is None:
            return True
        try:
            process = psutil.Process(pid)
            if not _is_desktop_sd(process):
                log.warning("The instance lock names process %s, which is not Desktop SD; leaving it", pid)
                return False
            process.terminate()
            try:
                process.wait(timeout_s)
            except psutil.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)
        except psutil.NoSuchProcess:
            return True
        except (psutil.Error, OSError) as exc:
            log.warning("Could not end process %s: %s", pid, exc)
            return False
        return True

    def _clear_stale_lock(self) -> bool:
        """Qt already takes a lock whose owner is dead; this covers what it cannot tell."""
        pid, hostname, _app = self._lock.getLockInfo()  # PySide6: pid 0 when the file names no owner
        ok = pid > 0
        if not ok:  # empty or garbled: a crash while the file was being written
            try:
                age = time.time() - self.lock_path.stat().st_mtime
            except OSError:
                return True  # gone meanwhile: try again
            stale = age > UNREADABLE_LOCK_GRACE_S
        else:
            same_host = not hostname or hostname == QSysInfo.machineHostName()
            stale = same_host and not psutil.pid_exists(pid)
        if stale:
            log.info("Removing a stale instance lock %s (owner %s)", self.lock_path, pid if ok else "unknown")
            return self._lock.removeStaleLockFile()
        return False

    def _on_new_connection(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            self._buffers[socket] = bytearray()
            socket.readyRead.connect(lambda s=socket: self._on_ready_read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))
            if socket.bytesAvailable():
                self._on_ready_read(socket)

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        buffer = self._buffers.get(socket)
        if buffer is None:
            return
        buffer += bytes(socket.readAll().data())
        if len(buffer) < HEADER.size:
            return
        (length,) = HEADER.unpack_from(buffer)
        if length > MAX_MESSAGE_BYTES:
            log.warning("Ignoring an oversized message from a second launch")
            socket.abort()
            self._forget(socket)
            return
        if len(buffer) < HEADER.size + length:
            return
        args = _parse(bytes(buffer[HEADER.size : HEADER.size + length]))
        if args is None:
            log.warning("Ignoring a malformed message from a second launch")
            socket.abort()
            self._forget(socket)
            return
        self._buffers.pop(socket, None)
        self.message_received.emit(args)
        socket.write(QByteArray(ACK))
        socket.flush()
        socket.disconnectFromServer()

    def _forget(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()

    # ---- secondary -----------------------------------------------------------------------

    def send_to_primary(self, args: list[str], timeout_ms: int = 2000) -> bool:
        """Hand ``args`` to the running instance; True once it confirmed receipt.

        Arguments naming an existing file or folder are made absolute first: the
        primary runs in another working folder. Blocks for up to ``timeout_ms``
        (retrying while the primary is still starting its server); call it before
        any window exists.
        """
        payload = json.dumps({"args": [_absolute_if_path(a) for a in args]}).encode("utf-8")
        message = HEADER.pack(len(payload)) + payload
        deadline = time.monotonic() + timeout_ms / 1000
        socket = QLocalSocket()
        try:
            while True:
                socket.connectToServer(self.key)
                if socket.waitForConnected(_left_ms(deadline)):
                    break
                socket.abort()
                if _left_ms(deadline) <= 0:
                    return False
                QThread.msleep(min(RETRY_MS, _left_ms(deadline)))  # the primary may be starting its server
            socket.write(QByteArray(message))
            if not socket.waitForBytesWritten(_left_ms(deadline)):
                return False
            while socket.bytesAvailable() < 1:
                if not socket.waitForReadyRead(_left_ms(deadline)):
                    return False
            return bytes(socket.read(1).data()) == ACK
        finally:
            with contextlib.suppress(RuntimeError):
                socket.abort()


def _is_desktop_sd(process: psutil.Process) -> bool:
    words = " ".join([process.name(), *process.cmdline()]).lower()
    return "desktop-sd" in words or "desktop_sd" in words or "desktop sd" in words


def _left_ms(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))


def _absolute_if_path(arg: str) -> str:
    if not arg or arg.startswith("-"):
        return arg
    try:
        path = Path(arg)
        return str(path.resolve()) if path.exists() else arg
    except (OSError, ValueError):
        return arg


def _parse(payload: bytes) -> list[str] | None:
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    args = message.get("args") if isinstance(message, dict) else None
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        return None
    return args
