"""Hands every finished result to the history library the moment it exists, off the GUI thread.

A save that fails (full or read-only disk, locked database) keeps the images
in memory: the user can retry, or point the library at another folder and
retry there. Nothing is dropped until it is saved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QEventLoop, QObject, QThread, QTimer, Signal, Slot

from desktop_sd.core.errors import DesktopSDError
from desktop_sd.core.provenance import NO_PROVENANCE, Provenance
from desktop_sd.core.request import GenerationRequest, GenerationResult

log = logging.getLogger(__name__)


class ResultStore(Protocol):
    """What the saver needs of ``library.store.Library`` (thread-safe)."""

    def add(
        self,
        image: Any,
        request: GenerationRequest,
        model_id: str,
        parent_id: int | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> Any: ...


def image_request(result: GenerationResult, index: int) -> GenerationRequest:
    """The request that remakes image ``index`` of a batch on its own."""
    seed = result.seeds[index] if index < len(result.seeds) else result.request.seed
    return result.request.replace(seed=seed, batch_size=1)


@dataclass
class _Unsaved:
    result: GenerationResult
    next_index: int  # images before this one are saved


class _SaveWorker(QObject):
    done = Signal(int, int, object, str)  # job id, images saved so far, new records, error ("" = none)

    @Slot(int, object, int, object)
    def save(self, job_id: int, result: GenerationResult, start: int, store: ResultStore) -> None:
        records = []
        for index in range(start, len(result.images)):
            try:
                request = image_request(result, index)
                image = result.images[index]
                record = store.add(image, request, result.model_id, provenance=Provenance.of(result, index))
                records.append(record)
            except Exception as exc:  # any failure keeps the image in memory for a retry
                if not isinstance(exc, DesktopSDError):
                    log.exception("saving job %s image %s failed", job_id, index)
                self.done.emit(job_id, index, tuple(records), str(exc) or type(exc).__name__)
                return
        self.done.emit(job_id, len(result.images), tuple(records), "")


class ResultSaver(QObject):
    saved = Signal(int, object)  # job id, tuple of library records
    save_failed = Signal(int, str)  # job id, message for the user

    _save = Signal(int, object, int, object)
    _idle = Signal()  # nothing handed to the thread is still being saved

    def __init__(self, store: ResultStore | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._unsaved: dict[int, _Unsaved] = {}
        self._thread = QThread()
        self._thread.setObjectName("result-saver")
        self._worker = _SaveWorker()
        self._worker.moveToThread(self._thread)
        self._save.connect(self._worker.save)
        self._worker.done.connect(self._on_done)
        self._in_flight: set[int] = set()
        self._closed = False

    @property
    def store(self) -> ResultStore | None:
        return self._store

    def set_store(self, store: ResultStore | None) -> None:
        """Save to another library from now on (after "choose another folder")."""
        self._store = store

    def save(self, job_id: int, result: GenerationResult) -> None:
        self._unsaved[job_id] = _Unsaved(result, 0)
        self._submit(job_id)

    def retry(self) -> None:
        """Try every unsaved result again (in the current store)."""
        for job_id in list(self._unsaved):
            self._submit(job_id)

    def unsaved_count(self) -> int:
        return sum(len(u.result.images) - u.next_index for u in self._unsaved.values())

    def unsaved(self) -> list[tuple[Any, GenerationRequest]]:
        """Each image not yet in the library, with the request that remakes it."""
        return [
            (u.result.images[i], image_request(u.result, i))
            for u in self._unsaved.values()
            for i in range(u.next_index, len(u.result.images))
        ]

    def wait_for_saves(self, timeout_ms: int = 10_000) -> bool:
        """Let saves already handed to the thread finish (before quitting). False if some are still going."""
        if self._in_flight:
            loop = QEventLoop()
            self._idle.connect(loop.quit)
            QTimer.singleShot(timeout_ms, loop.quit)
            loop.exec()
            self._idle.disconnect(loop.quit)
        return not self._in_flight

    def shutdown(self) -> None:
        """Let saves already handed over finish, then join the thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()

    def _submit(self, job_id: int) -> None:
        entry = self._unsaved.get(job_id)
        if entry is None or self._store is None or self._closed or job_id in self._in_flight:
            return
        if not self._thread.isRunning():
            self._thread.start()
        self._in_flight.add(job_id)
        self._save.emit(job_id, entry.result, entry.next_index, self._store)

    def _on_done(self, job_id: int, next_index: int, records: tuple, error: str) -> None:
        self._in_flight.discard(job_id)
        if not self._in_flight:
            self._idle.emit()
        entry = self._unsaved.get(job_id)
        if entry is not None:
            entry.next_index = max(entry.next_index, next_index)
            if entry.next_index >= len(entry.result.images):
                del self._unsaved[job_id]
        if records:
            self.saved.emit(job_id, records)
        if error:
            self.save_failed.emit(job_id, error)
