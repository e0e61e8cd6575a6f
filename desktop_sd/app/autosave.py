"""Canvas autosave: a recovery snapshot that survives a crash or a kill, and disappears on a clean exit.

Layout under the autosave folder (``paths.data_dir() / "autosave"``)::

    <session>.lock            QLockFile held by the running app that owns <session>/
    <session>/snapshot.sdproj the latest snapshot (a ``core.document_io`` project file)

Each running app has its own session. The lock tells the two cases apart: a
session whose lock is held by a live process belongs to another running
instance and is left alone; one whose lock can be taken (the owner died, so Qt
finds the lock stale, or there is no lock at all) was left by a crashed or
killed run, and ``pending_recovery()`` offers its snapshot.

Snapshots are taken ``quiet_s`` after the last ``mark_dirty()`` (a stroke made
just before a crash is kept), but no later than ``interval_s`` after the first
unsaved change while edits go on, and at once on ``snapshot_now()``. The ``snapshot`` callable runs on the GUI thread
(it reads the canvas); PNG encoding and the atomic write (temp file, fsync,
rename) run on a background thread, so the GUI does not stall. Writes coalesce:
while one is in flight, only the newest pending document is written next.

For a large canvas, converting it to a ``Document`` is itself slow (a 4096 px
canvas takes ~0.2 s). The callable may then return a zero-argument builder
instead: it grabs cheap copies on the GUI thread (``QImage`` copies are
implicitly shared) and the builder, run on the writer thread, makes the
``Document`` from them.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Qt, QTimer, Signal

from desktop_sd.core import paths
from desktop_sd.core.disk_errors import describe_os_error
from desktop_sd.core.document import Document
from desktop_sd.core.document_io import DocumentError, load_document, save_document

SNAPSHOT_NAME = "snapshot.sdproj"
LOCK_SUFFIX = ".lock"
SNAPSHOT_COMPRESS_LEVEL = 1  # speed over size: a snapshot is rewritten every minute
WRITER_JOIN_S = 30.0

log = logging.getLogger(__name__)

_REMOVE = object()  # queued instead of a document: the canvas is empty, drop the snapshot

DocumentBuilder = Callable[[], Document]
"""Makes the snapshot ``Document`` on the writer thread, from copies taken on the GUI thread."""


def default_folder() -> Path:
    """Where the app keeps recovery snapshots: ``<data folder>/autosave``."""
    return paths.data_dir() / "autosave"


class Autosave(QObject):
    """Keeps a recovery snapshot of the canvas; see the module docstring for the rules."""

    snapshot_written = Signal(str)  # path of the snapshot on disk
    snapshot_failed = Signal(str)  # a message fit to show in the status bar

    def __init__(
        self,
        snapshot: Callable[[], Document | DocumentBuilder | None],
        folder: Path,
        interval_s: float = 60,
        parent: QObject | None = None,
        quiet_s: float = 3,
    ) -> None:
        super().__init__(parent)
        self._snapshot = snapshot
        self._folder = Path(folder)
        self._interval_s = float(interval_s)
        self._quiet_s = min(float(quiet_s), self._interval_s)
        self._first_dirty: float | None = None  # when the oldest change not in a snapshot was made
        self._dirty = False
        self._started = False
        self._last_snapshot = float("-inf")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may fire 5% late: over a minute
        self._timer.timeout.connect(self._on_timer)
        self._session: str | None = None
        self._lock: QLockFile | None = None
        self._cv = threading.Condition()
        self._pending: object | None = None
        self._writer: threading.Thread | None = None
        self.recovered_at: datetime | None = None
        """When the snapshot returned by the last ``pending_recovery()`` was written."""

    # ---- public -----------------------------------------------------------------------

    def start(self) -> None:
        """Claim this run's session and begin snapshotting changes."""
        self._started = True
        try:
            self._ensure_session()
        except OSError as exc:  # reported, not raised: the app works on without autosave
            log.error("Autosave cannot start: %s", exc)
            self.snapshot_failed.emit(f"Autosave is off: {self._folder} cannot be used: {describe_os_error(exc)}")
        if self._dirty:
            self._schedule()

    def mark_dirty(self) -> None:
        """Something on the canvas changed; a snapshot follows once edits pause (``quiet_s``)."""
        self._dirty = True
        if self._first_dirty is None:
            self._first_dirty = time.monotonic()
        if self._started:
            self._schedule()

    def snapshot_now(self) -> None:
        """Snapshot at once (call it on every applied result)."""
        self._timer.stop()
        self._dirty = False
        self._first_dirty = None
        self._last_snapshot = time.monotonic()
        try:
            doc = self._snapshot()
        except Exception as exc:  # a failing snapshot must never take the app down with it
            log.exception("Autosave could not read the canvas")
            self.snapshot_failed.emit(f"Autosave failed: could not read the canvas ({exc}).")
            return
        self._submit(_REMOVE if doc is None else doc)

    def seconds_until_snapshot(self) -> float | None:
        """Time left before the next timed snapshot, or None when none is due."""
        return self._timer.remainingTime() / 1000 if self._timer.isActive() else None

    def snapshot_path(self) -> Path | None:
        """This run's snapshot file, if one has been written."""
        if self._session is None:
            return None
        path = self._folder / self._session / SNAPSHOT_NAME
        return path if path.exists() else None

    def wait_idle(self, timeout_s: float = WRITER_JOIN_S) -> bool:
        """Block until queued writes are on disk; False on time-out."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while self._writer is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cv.wait(left):
                    return self._writer is None
        return True

    def pending_recovery(self) -> Document | None:
        """The newest snapshot left by a run that crashed or was killed, or None.

        The snapshot is adopted into this run's session (so it stays safe until
        ``discard()`` or the next snapshot replaces it), hence a second call
        returns None. Snapshots owned by another running instance are never
        touched. A damaged snapshot is kept on disk, renamed, and skipped.
        """
        candidates = self._crashed_sessions()
        try:
            while candidates:
                session, lock, snapshot = candidates.pop(0)
                try:
                    doc = load_document(snapshot)
                except DocumentError as exc:
                    log.warning("Skipping a damaged recovery snapshot %s: %s", snapshot, exc)
                    with contextlib.suppress(OSError):
                        os.replace(snapshot, snapshot.with_name(f"damaged-{int(time.time())}.sdproj"))
                    lock.unlock()
                    continue
                self.recovered_at = datetime.fromtimestamp(snapshot.stat().st_mtime)
                self._adopt(session, lock, snapshot)
                return doc
            return None
        finally:
            for _, lock, _ in candidates:  # older crashed sessions wait for the next start
                lock.unlock()

    def discard(self) -> None:
        """Clean exit (or recovery declined): drop this run's snapshot and release its session.

        Waits for a write in flight first, so nothing is written after. The
        object stays usable: a later ``mark_dirty()`` starts a new session.
        """
        self._timer.stop()
        self._dirty = False
        with self._cv:
            self._pending = None
        if not self.wait_idle():
            log.error("Autosave: a snapshot write did not finish; the snapshot may be offered for recovery")
        if self._session is not None:
            folder = self._folder / self._session
            _remove_folder(folder)
            if self._lock is not None:
                self._lock.unlock()
            self._session = None
            self._lock = None

    # ---- sessions -----------------------------------------------------------------------

    def _ensure_session(self) -> Path:
        """This run's session folder, claiming a new one (lock first, then folder) if needed."""
        if self._session is not None:
            return self._folder / self._session
        self._folder.mkdir(parents=True, exist_ok=True)
        for _attempt in range(5):  # a name clash is all but impossible; a folder refusing locks is not
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
            lock = QLockFile(str(self._folder / f"{name}{LOCK_SUFFIX}"))
            lock.setStaleLockTime(0)  # only a dead owner makes it stale, never its age
            if lock.tryLock(0):
                break
        else:
            raise OSError(errno.EACCES, "no lock file can be made there")
        (self._folder / name).mkdir(exist_ok=True)
        self._session, self._lock = name, lock
        return self._folder / name

    def _crashed_sessions(self) -> list[tuple[str, QLockFile, Path]]:
        """Sessions whose owner is gone and that hold a snapshot, newest first, each with its lock taken."""
        try:
            folders = [p for p in self._folder.iterdir() if p.is_dir()] if self._folder.is_dir() else []
        except OSError as exc:
            log.error("Cannot look for recovery snapshots in %s: %s", self._folder, exc)
            return []
        found: list[tuple[float, str, QLockFile, Path]] = []
        for folder in folders:
            if folder.name == self._session:
                continue
            snapshot = folder / SNAPSHOT_NAME
            lock = QLockFile(str(self._folder / f"{folder.name}{LOCK_SUFFIX}"))
            lock.setStaleLockTime(0)
            if not lock.tryLock(0):
                continue  # a live instance owns it
            if snapshot.is_file():
                found.append((snapshot.stat().st_mtime, folder.name, lock, snapshot))
            else:
                _remove_folder(folder, only_temp_files=True)
                lock.unlock()
        found.sort(key=lambda item: item[0], reverse=True)
        return [(name, lock, snapshot) for _, name, lock, snapshot in found]

    def _adopt(self, session: str, lock: QLockFile, snapshot: Path) -> None:
        """Move a crashed session's snapshot into ours, unless we already have one of our own."""
        try:
            own = self._ensure_session() / SNAPSHOT_NAME
            if own.exists():
                raise FileExistsError(own)
            os.replace(snapshot, own)
        except OSError as exc:  # left where it is; the next start offers it again
            log.warning("Recovery snapshot %s stays in place: %s", snapshot, exc)
            lock.unlock()
            return
        _remove_folder(self._folder / session, only_temp_files=True)
        lock.unlock()

    # ---- writing ------------------------------------------------------------------------

    def _schedule(self) -> None:
        now = time.monotonic()
        first = self._first_dirty if self._first_dirty is not None else now
        wait_s = max(0.0, min(self._quiet_s, first + self._interval_s - now))
        self._timer.start(round(wait_s * 1000))

    def _on_timer(self) -> None:
        if self._dirty:
            self.snapshot_now()

    def _submit(self, job: object) -> None:
        try:
            folder = self._ensure_session()
        except OSError as exc:
            self.snapshot_failed.emit(f"Autosave failed: {exc}.")
            return
        with self._cv:
            self._pending = job
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, args=(folder / SNAPSHOT_NAME,), name="autosave", daemon=True
                )
                self._writer.start()

    def _write_loop(self, path: Path) -> None:
        """Background thread: write the newest pending job until none is left."""
        while True:
            with self._cv:
                job, self._pending = self._pending, None
                if job is None:
                    self._writer = None
                    self._cv.notify_all()
                    return
            self._write(job, path)

    def _write(self, job: object, path: Path) -> None:
        try:
            if job is _REMOVE:
                path.unlink(missing_ok=True)
                return
            doc = job() if callable(job) else job
            if not isinstance(doc, Document):
                raise TypeError(f"the snapshot builder returned {type(doc).__name__}, not a Document")
            save_document(doc, path, compress_level=SNAPSHOT_COMPRESS_LEVEL)
        except (DocumentError, OSError) as exc:
            log.error("Autosave failed: %s", exc)
            with contextlib.suppress(RuntimeError):
                self.snapshot_failed.emit(f"Autosave failed: {exc}")
            return
        except Exception as exc:
            log.exception("Autosave failed")
            with contextlib.suppress(RuntimeError):
                self.snapshot_failed.emit(f"Autosave failed: {exc}")
            return
        with contextlib.suppress(RuntimeError):  # the QObject may be gone at exit
            self.snapshot_written.emit(str(path))


def _remove_folder(folder: Path, only_temp_files: bool = False) -> None:
    """Remove a session folder: its snapshot and temp files (with ``only_temp_files``, keep any snapshot)."""
    if not folder.is_dir():
        return
    for item in folder.iterdir():
        keep = only_temp_files and not item.name.endswith(".tmp")
        if item.is_file() and not keep:
            with contextlib.suppress(OSError):
                item.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()  # fails, and keeps it, if anything else is still inside (a damaged snapshot)
