"""The status bar: device, memory tier, model in use, job progress, queue and downloads."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from desktop_sd.app.generation import GenerationController
from desktop_sd.app.model_choices import ModelChoices
from desktop_sd.app.model_manager import ModelManager
from desktop_sd.app.upscale_jobs import counts_tiles
from desktop_sd.core.backend import BackendStatus
from desktop_sd.core.request import MemoryTier
from desktop_sd.remote.pool import MemberState, State

TIER_TEXT = {
    MemoryTier.GPU: "full speed",
    MemoryTier.MODEL_OFFLOAD: "model offload",
    MemoryTier.SEQUENTIAL_OFFLOAD: "low memory",
}


def _human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


def _duration(seconds: float) -> str:
    """ "about 45 s", "about 3 min": an estimate, so no false precision."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    return f"about {round(seconds / 60)} min"


def _server_state(state: MemberState) -> str:
    if state.state is State.BUSY:
        return f"busy ({state.queue} in queue)"
    return str(state.state)


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device_label = QLabel("Device: loads on first Generate")
        self.tier_label = QLabel()
        self.model_label = QLabel()
        self.queue_label = QLabel()
        self.download_label = QLabel()
        self.servers_label = QLabel()  # each ComfyUI server and this computer, when servers are added
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self._unit = "Step"  # what the bar counts: a generation's steps, an upscale job's tiles
        self._tiles_under_way = False  # an upscale job is between its first and last tile
        # Left: passing messages. Right: what is always worth a glance.
        for widget in (
            self.download_label,
            self.servers_label,
            self.queue_label,
            self.progress,
            self.model_label,
            self.device_label,
            self.tier_label,
        ):
            self.addPermanentWidget(widget)
        self.download_label.hide()
        self.servers_label.hide()
        self.tier_label.hide()

    def follow(self, generation: GenerationController, models: ModelChoices, manager: ModelManager | None) -> None:
        """Show what the generation controller, its job queue and the model manager report."""
        g, queue = generation, generation.queue
        g.job_started.connect(lambda _frame, _total, doing: self.set_busy(doing))
        g.job_progress.connect(lambda _frame, step, total, *_rest: self._on_progress(step, total, counts_tiles(queue)))
        g.job_eta.connect(self.set_eta)
        saving = " · saving to the history…" if g.saver is not None else ""
        g.job_done.connect(lambda seconds: self.showMessage(f"Done in {seconds:.1f} s{saving}", 5000))
        if g.saver is not None:
            g.saver.saved.connect(lambda _job_id, records: self.showMessage(f"Saved {len(records)} image(s)", 4000))
        g.job_cancelling.connect(lambda: self.set_busy("Cancelling…"))
        g.job_phase.connect(lambda _frame, text: self._on_phase(text))
        g.job_cancelled.connect(lambda: self.showMessage("Cancelled", 3000))
        g.idle.connect(self.clear_progress)
        g.prompt.changed.connect(lambda values: self.set_model(models.name_of(values.model)))
        queue.queue_changed.connect(lambda: self.set_queue(len(queue.pending())))
        queue.backend_status.connect(self.set_backend)
        if manager is not None:
            manager.download_progress.connect(
                lambda model_id, done, total, speed: self.set_download(models.name_of(model_id), done, total, speed)
            )
            manager.download_finished.connect(lambda model_id: self._downloaded(models.name_of(model_id)))
            manager.download_failed.connect(self.clear_download)

    def _downloaded(self, name: str) -> None:
        self.clear_download()
        self.showMessage(f"{name} is installed", 5000)

    def set_backend(self, status: BackendStatus) -> None:
        device = status.device_name or status.device.upper()
        if status.free_vram_mb is not None:
            device += f" ({status.free_vram_mb / 1024:.1f} GB free)"
        self.device_label.setText(f"Device: {device}")
        self.tier_label.setVisible(status.tier is not None)
        if status.tier is not None:
            self.tier_label.setText(f"Memory: {TIER_TEXT.get(status.tier, str(status.tier))}")
            self.tier_label.setToolTip(f"Memory tier: {status.tier}")

    def set_servers(self, states: list[MemberState]) -> None:
        """One entry per member: "gpu-box: busy (3)", "old-box: unreachable" (the error in the tooltip)."""
        self.servers_label.setVisible(len(states) > 1)  # this computer alone needs no line
        self.servers_label.setText(" · ".join(f"{s.name}: {_server_state(s)}" for s in states))
        errors = [f"{s.name}: {s.error}" for s in states if s.error]
        self.servers_label.setToolTip("\n".join(["Where jobs can run", *errors]))

    def set_model(self, name: str) -> None:
        self.model_label.setText(f"Model: {name}" if name else "No model")

    def _on_progress(self, step: int, total: int, tiles: bool) -> None:
        if tiles:  # an upscale job: tiles done; no decode follows the last
            self.set_progress(step, total, "Tile")
            self._tiles_under_way = step < total
        elif step < total:
            self.set_progress(step, total)
        else:
            self.set_busy("Decoding the image…")

    def _on_phase(self, text: str) -> None:
        """What the job does between its steps; between a refine's tiles the bar keeps counting tiles
        (the step within the tile shows over the canvas)."""
        if not self._tiles_under_way:
            self.set_busy(text)

    def set_progress(self, step: int, total: int, unit: str = "Step") -> None:
        self._unit = unit
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(step)
        self.progress.setFormat(f"{unit} {step}/{total}")
        self.progress.show()

    def set_eta(self, step: int, total: int, seconds_left: float) -> None:
        self.progress.setFormat(f"{self._unit} {step}/{total} · {_duration(seconds_left)} left")

    def set_busy(self, text: str) -> None:
        """Show an indeterminate bar (loading the model, before the first step)."""
        self._tiles_under_way = False
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)
        self.progress.show()

    def clear_progress(self) -> None:
        self.progress.hide()

    def set_queue(self, waiting: int) -> None:
        self.queue_label.setText(f"{waiting} waiting" if waiting else "")

    def set_download(self, name: str, done: int, total: int, bytes_per_s: float) -> None:
        share = f"{100 * done / total:.0f}%" if total else _human_bytes(done)
        self.download_label.setText(f"Downloading {name}: {share} at {_human_bytes(bytes_per_s)}/s")
        self.download_label.show()

    def clear_download(self) -> None:
        self.download_label.hide()
