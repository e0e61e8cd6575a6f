"""The job queue as a list model: the running job first, with its progress, then the waiting ones."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from desktop_sd.app.jobs import Job, JobQueue

JOB_ID_ROLE = Qt.ItemDataRole.UserRole + 1


def describe_job(job: Job) -> str:
    if job.upscale is not None:  # an upscale job: its image's size, not a generation's settings
        return f"{job.label}  ·  {job.upscale.image.width}×{job.upscale.image.height}"
    r = job.request
    return f"{job.label}  ·  {r.mode} {r.width}×{r.height}, {r.steps} steps" + (
        f", ×{r.batch_size}" if r.batch_size > 1 else ""
    )


class QueueModel(QAbstractListModel):
    def __init__(self, queue: JobQueue, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue = queue
        self._jobs: list[Job] = queue.jobs()
        self._step: tuple[int, int] | None = None
        self._phase = "starting"  # what the running job does before its steps
        queue.queue_changed.connect(self._reload)
        queue.job_phase.connect(self._on_phase)
        queue.job_cancelling.connect(lambda _job_id: self._on_phase(_job_id, "cancelling"))
        queue.job_started.connect(self._on_started)
        queue.progress.connect(self._on_progress)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._jobs)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._jobs):
            return None
        job = self._jobs[index.row()]
        running = self._queue.running() is job
        if role == Qt.ItemDataRole.DisplayRole:
            if running:
                progress = f"step {self._step[0]}/{self._step[1]}" if self._step else self._phase
                return f"▶ {describe_job(job)}  ({progress})"
            return f"{index.row() + (0 if self._queue.running() else 1)}. {describe_job(job)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return job.request.prompt or "(no prompt)"
        if role == JOB_ID_ROLE:
            return job.id
        return None

    def job_id(self, row: int) -> int | None:
        return self._jobs[row].id if 0 <= row < len(self._jobs) else None

    def _reload(self) -> None:
        self.beginResetModel()
        self._jobs = self._queue.jobs()
        self.endResetModel()

    def _on_started(self, _job_id: int) -> None:
        self._step, self._phase = None, "starting"
        self._refresh_first()

    def _on_phase(self, _job_id: int, text: str) -> None:
        self._step, self._phase = None, text.rstrip("…").lower() if text else "starting"
        self._refresh_first()

    def _on_progress(self, _job_id: int, step: int, total: int, _preview: object) -> None:
        self._step = (step, total)
        self._refresh_first()

    def _refresh_first(self) -> None:
        if self._jobs:
            first = self.index(0)
            self.dataChanged.emit(first, first, [Qt.ItemDataRole.DisplayRole])
