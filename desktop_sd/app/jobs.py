"""The job queue and the one worker thread that owns the backend.

All GPU work is serialised on a single long-lived ``QThread``. The queue
itself lives on the GUI thread: it hands the worker one job at a time and
starts the next when the worker reports back. Signals carry immutable values
only; the worker converts previews to ``QImage`` (never ``QPixmap``).
Cancelling sets the job's ``threading.Event``, which the backend checks every
step; the thread is never terminated.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from PySide6.QtCore import QObject, QRect, QThread, Signal, Slot
from PySide6.QtGui import QImage

from desktop_sd.app.qimages import pil_to_qimage
from desktop_sd.app.upscale_run import run_upscale
from desktop_sd.core.backend import Backend, BackendStatus, StepCallback, phase_listener
from desktop_sd.core.errors import Cancelled, DesktopSDError
from desktop_sd.core.request import GenerationRequest
from desktop_sd.core.upscaling import UpscaleRequest
from desktop_sd.core.warm_up import warm_up

log = logging.getLogger(__name__)

BackendFactory = Callable[[], Backend]
PREVIEW_INTERVAL_S = 0.25  # at most four progress signals a second


@dataclass(frozen=True, eq=False)
class Job:
    """A request in the queue, with where on the canvas its result belongs.

    ``frame`` is the canvas area the job was made for (its result lands there
    even if the frame moves meanwhile); ``clip`` is the feathered mask of an
    inpaint job, so its previews show only where pixels will change.
    """

    id: int
    request: GenerationRequest
    label: str
    frame: QRect | None = None
    clip: QImage | None = field(default=None, repr=False)
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    upscale: UpscaleRequest | None = field(default=None, repr=False)  # an upscale job (``app.upscale_jobs``)


def describe_error(exc: BaseException) -> str:
    """A message for the user: ours already say what to do; anything else gets a generic next step."""
    if isinstance(exc, DesktopSDError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "The computer ran out of memory. Close other programs, or lower the size or batch count, and try again."
    return (
        f"Generation failed unexpectedly ({type(exc).__name__}: {exc}). "
        "The details are in the log; try again, or choose another model or scheduler."
    )


class _Worker(QObject):
    """Lives on the worker thread; runs one job per ``run`` call."""

    started = Signal(int)
    progress = Signal(int, int, int, QImage)
    finished = Signal(int, object)  # job id, GenerationResult
    failed = Signal(int, str)
    cancelled = Signal(int)
    phase = Signal(int, str)  # job id, what it does between steps (loading, encoding the prompt)
    status = Signal(object)  # BackendStatus
    warmed_up = Signal()

    def __init__(self, factory: BackendFactory, preview_interval_s: float) -> None:
        super().__init__()
        self._factory = factory
        self._interval = preview_interval_s
        self._backend: Backend | None = None
        self.stop_warm_up = threading.Event()  # set by the queue's shutdown (any thread)

    @Slot()
    def warm_up(self) -> None:
        """The backend's slow first-time work (``core.warm_up``: imports, no model), before any job."""
        try:
            if self._backend is None:
                self._backend = self._factory()
            warm_up(self._backend, self.stop_warm_up)
        except Exception:  # the first job does it again and reports what went wrong
            log.exception("warming up the backend failed")
        self.warmed_up.emit()

    @Slot(object)
    def run(self, job: Job) -> None:
        self.started.emit(job.id)
        try:
            if job.cancel_event.is_set():
                raise Cancelled("cancelled before it started")
            if self._backend is None:
                self._backend = self._factory()
            if job.cancel_event.is_set():
                raise Cancelled("cancelled while the model loaded")
            with phase_listener(lambda text: self.phase.emit(job.id, text)):
                if job.upscale is not None:
                    reporter = self._step_reporter(job.id)
                    result = run_upscale(self._backend, job.upscale, job.request, reporter, job.cancel_event)
                else:
                    result = self._backend.generate(job.request, self._step_reporter(job.id), job.cancel_event)
        except Cancelled:
            self.cancelled.emit(job.id)
        except Exception as exc:  # every failure becomes a message; the thread carries on
            if not isinstance(exc, DesktopSDError):
                log.exception("job %s failed", job.id)
            self.failed.emit(job.id, describe_error(exc))
        else:
            self.finished.emit(job.id, result)
        self._report_status()

    def _step_reporter(self, job_id: int) -> StepCallback:
        last = [0.0]
        reported = [False]

        def on_step(step: int, total: int, preview: Image.Image | None = None) -> None:
            if not reported[0]:  # the model is loaded by now: show its device and memory tier
                reported[0] = True
                self._report_status()
            now = time.monotonic()
            if step not in (1, total) and now - last[0] < self._interval:
                return
            last[0] = now
            image = pil_to_qimage(preview) if preview is not None else QImage()
            self.progress.emit(job_id, step, total, image)

        return on_step

    def _report_status(self) -> None:
        if self._backend is None:
            return
        try:
            self.status.emit(self._backend.status())
        except Exception:
            log.exception("backend status failed")


class JobQueue(QObject):
    """Jobs waiting and running. Only the GUI thread calls its methods."""

    job_queued = Signal(int)
    job_started = Signal(int)
    progress = Signal(int, int, int, QImage)  # job id, step, total, preview (null when none)
    job_finished = Signal(int, object)  # job id, GenerationResult
    job_failed = Signal(int, str)
    job_cancelled = Signal(int)
    job_cancelling = Signal(int)  # cancel asked for the running job: it stops at its next block or step
    job_phase = Signal(int, str)  # job id, what the running job does between steps
    queue_changed = Signal()
    backend_status = Signal(object)  # BackendStatus
    warmed_up = Signal()  # the backend's warm-up is over (done, stopped by shutdown, or failed)

    _dispatch = Signal(object)  # Job, to the worker
    _warm = Signal()  # to the worker

    def __init__(
        self,
        backend_factory: BackendFactory,
        parent: QObject | None = None,
        preview_interval_s: float = PREVIEW_INTERVAL_S,
    ) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._pending: list[Job] = []
        self._running: Job | None = None
        self._thread = QThread()
        self._thread.setObjectName("generation-worker")
        self._worker = _Worker(backend_factory, preview_interval_s)
        self._worker.moveToThread(self._thread)
        self._dispatch.connect(self._worker.run)
        self._worker.started.connect(self.job_started)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._worker.status.connect(self.backend_status)
        self._worker.phase.connect(self._on_phase)
        self.last_status: BackendStatus | None = None
        self.backend_status.connect(self._remember_status)
        self._ending: Job | None = None  # the job whose end signal is being emitted
        self.abandoned = False  # shutdown gave up waiting for the worker thread
        self._closed = False
        self._warm.connect(self._worker.warm_up)
        self._worker.warmed_up.connect(self.warmed_up)
        self._warm_up_asked = False

    # ---- queries ---------------------------------------------------------------------------------
    def running(self) -> Job | None:
        return self._running

    def pending(self) -> list[Job]:
        return list(self._pending)

    def jobs(self) -> list[Job]:
        """The running job (if any) then the waiting ones, in order."""
        return ([self._running] if self._running else []) + self._pending

    def job(self, job_id: int) -> Job | None:
        """A waiting or running job, or the one whose end is being reported right now."""
        ending = [self._ending] if self._ending is not None else []
        return next((j for j in [*self.jobs(), *ending] if j.id == job_id), None)

    def is_busy(self) -> bool:
        return self._running is not None or bool(self._pending)

    # ---- commands --------------------------------------------------------------------------------
    def submit(
        self,
        request: GenerationRequest,
        label: str = "",
        frame: QRect | None = None,
        clip: QImage | None = None,
        upscale: UpscaleRequest | None = None,
    ) -> int:
        """Queue a request (with ``upscale``, an upscale job showing ``request``); it runs when the jobs
        before it are done. Returns its job id."""
        if self._closed:
            raise RuntimeError("the job queue is shut down")
        label = label or request.prompt[:60] or "(no prompt)"
        job = Job(next(self._ids), request, label, frame, clip, upscale=upscale)
        self._pending.append(job)
        self.job_queued.emit(job.id)
        self.queue_changed.emit()
        self._start_next()
        return job.id

    def cancel(self, job_id: int | None = None) -> bool:
        """Cancel the running job (``None``) or any job by id. False when there is no such job."""
        if job_id is None or (self._running is not None and self._running.id == job_id):
            if self._running is None:
                return False
            if not self._running.cancel_event.is_set():
                self._running.cancel_event.set()
                self.job_cancelling.emit(self._running.id)
            return True
        for job in self._pending:
            if job.id == job_id:
                self._pending.remove(job)
                self.queue_changed.emit()
                self._report_end(job, self.job_cancelled, job.id)
                return True
        return False

    remove = cancel

    def warm_up(self) -> None:
        """Have the worker do the backend's slow first-time work now (once), so the first job does not.

        Call it when the window is shown and idle: the imports hold Python's GIL in bursts, better
        spent while the user types than during a job. A job submitted meanwhile runs after it;
        ``shutdown`` stops it between two imports.
        """
        if self._closed or self._warm_up_asked:
            return
        self._warm_up_asked = True
        if not self._thread.isRunning():
            self._thread.start()
        self._warm.emit()

    def cancel_all(self) -> None:
        for job in list(self._pending):
            self.cancel(job.id)
        self.cancel()

    def shutdown(self, wait_ms: int | None = None) -> bool:
        """Cancel everything, let the running job stop at its next block or step, and join the thread.

        With ``wait_ms``, give up waiting after that long and return False: the
        worker is abandoned (quitting must not hang on a step that cannot be
        interrupted), and ``abandoned`` tells the caller to end the process
        without waiting for it. Safe to call twice.
        """
        if not self._closed:
            self._closed = True
            self._worker.stop_warm_up.set()
            self.cancel_all()
            if self._thread.isRunning():
                self._thread.quit()
        if not self._thread.isRunning():
            return True
        if not (self._thread.wait() if wait_ms is None else self._thread.wait(wait_ms)):
            self.abandoned = True
            log.warning("The generation worker did not stop within %s ms; leaving it behind", wait_ms)
            return False
        return True

    # ---- internals ------------------------------------------------------------------------------
    def _start_next(self) -> None:
        if self._running is not None or not self._pending or self._closed:
            return
        if not self._thread.isRunning():
            self._thread.start()
        self._running = self._pending.pop(0)
        self.queue_changed.emit()
        self._dispatch.emit(self._running)

    def _finish(self, job_id: int) -> Job | None:
        job = self._running
        if job is None or job.id != job_id:
            return None
        self._running = None
        self.queue_changed.emit()
        return job

    def _report_end(self, job: Job, signal: Any, *args: object) -> None:
        """Emit ``signal`` with ``job`` still reachable through :meth:`job` for its receivers."""
        self._ending = job
        try:
            signal.emit(*args)
        finally:
            self._ending = None

    def _on_phase(self, job_id: int, text: str) -> None:
        if self._running is not None and self._running.id == job_id and not self._running.cancel_event.is_set():
            self.job_phase.emit(job_id, text)

    def _on_progress(self, job_id: int, step: int, total: int, preview: QImage) -> None:
        if self._running is not None and self._running.id == job_id and not self._running.cancel_event.is_set():
            self.progress.emit(job_id, step, total, preview)

    def _on_finished(self, job_id: int, result: object) -> None:
        job = self._finish(job_id)
        if job is not None:
            self._report_end(job, self.job_finished, job_id, result)
        self._start_next()

    def _on_failed(self, job_id: int, message: str) -> None:
        job = self._finish(job_id)
        if job is not None:
            self._report_end(job, self.job_failed, job_id, message)
        self._start_next()

    def _on_cancelled(self, job_id: int) -> None:
        job = self._finish(job_id)
        if job is not None:
            self._report_end(job, self.job_cancelled, job_id)
        self._start_next()

    def _remember_status(self, status: BackendStatus) -> None:
        self.last_status = status
