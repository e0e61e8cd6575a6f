"""The life of a generation job, from the prompt panel and canvas to candidates over the canvas.

``GenerationController`` owns every step, on the GUI thread: it builds the
request from the prompt model and the canvas, checks it, queues it with the
canvas area it was made for (kept on the job itself), follows its progress,
hands the result to the result saver the moment it arrives and offers its
images as candidates. The window only shows what the controller reports.

    prompt + canvas --generate()--> JobQueue --worker thread--> Backend.generate
                                       |  job_started / progress / job_finished (GUI thread)
    view, status bar <--signals-- GenerationController --> ResultSaver (own thread) --> Library
                                       '--> Candidates --apply_candidate()--> CanvasDocument
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QRect, Signal
from PySide6.QtGui import QImage

from desktop_sd.app.addon_check import check_addons
from desktop_sd.app.candidates import Candidates
from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.messages import Level
from desktop_sd.app.pace import Pace, describe
from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.app.result_saver import ResultSaver
from desktop_sd.app.reuse_notices import reuse_notices
from desktop_sd.app.upscale_run import sized_frame
from desktop_sd.core import hires, paths
from desktop_sd.core.document import Document
from desktop_sd.core.errors import InputError
from desktop_sd.core.request import GenerationRequest, GenerationResult, Mode
from desktop_sd.core.validation import check_request

SLOW_DECODE_S = 5.0  # a decode slower than this on the CPU brings the offer of the fast decoder


class GenerationController(QObject):
    message = Signal(str, str)  # text, Level: a notice or error for the user
    model_missing = Signal()  # Generate was asked for with no model chosen
    confirm_long_job = Signal(str)  # the job would take very long (or need much memory): ask, then generate(True)
    job_started = Signal(QRect, int, str)  # the job's frame, its steps, what it is doing first
    job_phase = Signal(QRect, str)  # the job's frame, what it does before its steps ("Loading the model: …")
    job_progress = Signal(QRect, int, int, QImage, object)  # frame, step, total, preview, clip (QImage | None)
    job_eta = Signal(int, int, float)  # step, total, seconds left (from the pace of the steps so far)
    job_done = Signal(float)  # seconds the job took; its images are candidates now
    job_cancelling = Signal()  # the running job was asked to stop and will at its next block or step
    job_cancelled = Signal()
    idle = Signal()  # no job runs any more
    result_applied = Signal()  # a candidate became part of the canvas
    estimate_changed = Signal(str)  # how long Generate would take now ("about 45 s"; "" when not measured yet)

    def __init__(
        self,
        queue: JobQueue,
        canvas: CanvasDocument,
        prompt: PromptModel,
        saver: ResultSaver | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.queue = queue
        self.canvas = canvas
        self.prompt = prompt
        self.saver = saver
        self.candidates = Candidates(self)
        self.pace = Pace(paths.cache_dir() / "pace.json")
        self._fast_decode_offered = False
        self._last_step: tuple[int, float] | None = None  # (step, time) of the job's last step: the decode follows
        self._model_loaded = False
        self._first_step: tuple[int, float] | None = None  # (step, time) of the first step seen this job
        canvas.frame_changed.connect(lambda frame: prompt.update(width=frame.width(), height=frame.height()))
        prompt.changed.connect(self._size_to_canvas)
        prompt.changed.connect(self._update_estimate)
        queue.job_started.connect(self._on_started)
        queue.progress.connect(self._on_progress)
        queue.job_finished.connect(self._on_finished)
        queue.job_failed.connect(self._on_failed)
        queue.job_cancelled.connect(self._on_cancelled)
        queue.job_cancelling.connect(lambda _job_id: self.job_cancelling.emit())
        queue.job_phase.connect(lambda job_id, text: self.job_phase.emit(self._frame(job_id), text))

    # ---- commands ---------------------------------------------------------------------------------
    def generate(self, confirmed: bool = False) -> int | None:
        """Queue a job from the prompt and the canvas; returns its id (None when refused, with a message).

        A job estimated to take very long is queued only once ``confirmed`` (``confirm_long_job`` asks).
        """
        values = self.prompt.values
        if not values.model:
            self.model_missing.emit()
            return None
        request = self.canvas.request_for(values.to_request())
        try:
            request, notices = check_request(request)
        except InputError as exc:
            self.message.emit(str(exc), Level.ERROR)
            return None
        status = self.queue.last_status
        warning = self.pace.warning(request.model, status.device if status else "cpu", request)
        if warning is not None and not confirmed:
            self.confirm_long_job.emit(warning)
            return None
        for notice in notices:
            self.message.emit(notice, Level.INFO)
        frame = self.canvas.frame
        clip = self.canvas.feathered_mask(frame, request.mask_feather) if request.mode is Mode.INPAINT else None
        return self.queue.submit(request, frame=frame, clip=clip)

    def cancel(self) -> None:
        self.queue.cancel()

    def is_running(self) -> bool:
        return self.queue.running() is not None

    def can_cancel(self) -> bool:
        """A job runs and has not been asked to stop yet."""
        job = self.queue.running()
        return job is not None and not job.cancel_event.is_set()

    def apply_candidate(self) -> bool:
        """Make the candidate on show part of the canvas (undoable)."""
        if self.candidates.current() is None or not self.candidates.apply(self.canvas):
            return False
        self.result_applied.emit()
        return True

    def reuse_parameters(self, request: GenerationRequest) -> list[str]:
        """Take the image's parameters; returns notices naming LoRAs, a VAE or embeddings that are not installed."""
        request, notices = check_addons(request)
        self.prompt.set_values(PromptValues.from_request(request, self.prompt.values))
        return notices + reuse_notices(request)

    def reuse_seed(self, seed: int) -> None:
        self.prompt.update(seed=int(seed), random_seed=False)

    # ---- the document: canvas and prompt settings together ------------------------------------------
    def document(self) -> Document:
        """The canvas and prompt settings as plain data (autosave, projects)."""
        return self.canvas.to_document(self.prompt.values.to_dict())

    def load_document(self, doc: Document) -> None:
        """Show ``doc``: canvas, mask, frame and prompt settings; pending candidates go."""
        self.candidates.clear()
        self.canvas.load_document(doc)
        if doc.prompt:
            self.prompt.set_values(PromptValues.from_dict({**self.prompt.values.to_dict(), **doc.prompt}))
        frame = self.canvas.frame
        self.prompt.update(width=frame.width(), height=frame.height())

    # ---- following the queue ---------------------------------------------------------------------------
    def _frame(self, job_id: int) -> QRect:
        job = self.queue.job(job_id)
        return job.frame if job is not None and job.frame is not None else self.canvas.frame

    def estimate_text(self) -> str:
        """How long the prompt's request would take here, judged by earlier jobs ("" when not known)."""
        values = self.prompt.values
        if not values.model:
            return ""
        status = self.queue.last_status
        frame = self.canvas.frame  # the size alone: no image copies on every keystroke
        request = values.to_request().replace(width=frame.width(), height=frame.height())
        return describe(self.pace.estimate_s(request.model, status.device if status else "cpu", request))

    def _update_estimate(self) -> None:
        self.estimate_changed.emit(self.estimate_text())

    def _on_started(self, job_id: int) -> None:
        self._first_step = self._last_step = None
        job = self.queue.job(job_id)
        total = job.request.steps if job is not None else 0
        self.job_started.emit(self._frame(job_id), total, "Starting…" if self._model_loaded else "Loading the model…")

    def _on_progress(self, job_id: int, step: int, total: int, preview: QImage) -> None:
        self._model_loaded = True
        job = self.queue.job(job_id)
        self.job_progress.emit(self._frame(job_id), step, total, preview, job.clip if job is not None else None)
        now = time.monotonic()
        if self._first_step is None or step <= self._first_step[0]:
            self._first_step = (step, now)  # the first step includes warming up: the pace counts from it
        elif step < total:  # after the last step comes the decode: its time is remembered from earlier jobs
            first, since = self._first_step
            status = self.queue.last_status
            device = status.device if status else "cpu"
            decode = self.pace.decode_s(job.request.model, device, job.request) if job is not None else 0.0
            if job is not None and job.upscale is not None:
                decode = 0.0  # an upscale job counts tiles: nothing is decoded after the last
            self.job_eta.emit(step, total, (now - since) / (step - first) * (total - step) + decode)
        if step == total:
            self._last_step = (step, now)

    def _on_finished(self, job_id: int, result: GenerationResult) -> None:
        self._model_loaded = True
        job = self.queue.job(job_id)
        upscale = job is not None and job.upscale is not None  # an upscale job (``app.upscale_jobs``)
        if not upscale:
            self.pace.record(result.request.model, result.device, result.request, result.elapsed_s)
            self._record_parts(result)
        frame = sized_frame(self._frame(job_id), result, upscale)
        if self.saver is not None:
            self.saver.save(job_id, result)
        if result.seeds and not upscale:
            self.prompt.set_last_seed(result.seeds[0])
        for notice in result.notices:
            self.message.emit(notice, Level.INFO)
        if not upscale or (job is not None and job.frame is not None):  # a history image's upscale: history only
            self.candidates.add_result(result, frame, takes_frame=hires.wanted(result.request) and not upscale)
        self.job_done.emit(result.elapsed_s)
        self._ended()

    def _record_parts(self, result: GenerationResult) -> None:
        """Step and decode times of the job just finished, as the window saw its steps arrive."""
        if self._first_step is None or self._last_step is None or self._last_step[0] <= self._first_step[0]:
            return
        (first, since), (last, at) = self._first_step, self._last_step
        step_s = (at - since) / (last - first)
        decode_s = time.monotonic() - at
        self.pace.record_parts(result.request.model, result.device, result.request, step_s, decode_s)
        self._update_estimate()
        if result.device == "cpu" and decode_s > SLOW_DECODE_S and not result.request.fast_decode:
            self._offer_fast_decode(decode_s)

    def _offer_fast_decode(self, decode_s: float) -> None:
        """Once a session: a slow CPU decode suggests the fast decoder for drafts."""
        if self._fast_decode_offered:
            return
        self._fast_decode_offered = True
        self.message.emit(
            f"Decoding the image took {decode_s:.0f} s on the CPU. For drafts, tick “Fast decode” (needs TAESD, "
            "from Models): it decodes in well under a second, with softer detail.",
            Level.INFO,
        )

    def _on_failed(self, _job_id: int, message: str) -> None:
        self.message.emit(message, Level.ERROR)
        self._ended()

    def _on_cancelled(self, _job_id: int) -> None:
        self.job_cancelled.emit()
        self._ended()

    def _ended(self) -> None:
        if not self.is_running():
            self.idle.emit()

    def _size_to_canvas(self, values: PromptValues) -> None:
        frame = self.canvas.frame
        if (values.width, values.height) != (frame.width(), frame.height()):
            self.canvas.set_frame_size(values.width, values.height)
