"""The model manager for the GUI: the registry, the catalog and downloads behind Qt signals.

Downloads and imports run on Python threads (they wait on the network or the
disk, never on the GPU); their ends come back through a queued signal and
their progress is read by a GUI-thread timer four times a second, so every
public signal is emitted on the GUI thread and a stalled connection shows
its speed falling to zero. Closing the app (``shutdown``) stops downloads but keeps their
partial files, so they resume next time; Cancel discards them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from desktop_sd.app.addon_list import AddonList
from desktop_sd.core.errors import Cancelled, DesktopSDError
from desktop_sd.core.request import Family
from desktop_sd.core.settings import Settings
from desktop_sd.models import install, network, sysinfo
from desktop_sd.models.catalog import CatalogEntry, load_catalog, recommendation_reason, recommended
from desktop_sd.models.importer import import_path
from desktop_sd.models.progress import Meter, Progress
from desktop_sd.models.registry import InstalledModel, Registry
from desktop_sd.models.resolve import missing_parts

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_MS = 250


@dataclass
class _Job:
    id: str
    target: install.Target | None
    thread: threading.Thread | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    discard: bool = False
    progress: Progress = field(default_factory=lambda: Progress(0, 0, 0.0))
    meter: Meter = field(default_factory=lambda: Meter(lambda _p: None))


class ModelManager(QObject):
    """Installed models, the catalog, downloads and imports, for the main window and the Models dialog."""

    installed_changed = Signal()
    download_started = Signal(str)  # model id
    # model id, done bytes, total bytes, bytes/s; "qint64" because an int argument is a 32-bit C++ int
    download_progress = Signal(str, "qint64", "qint64", float)  # type: ignore[arg-type]  # the stubs allow types only
    download_finished = Signal(str)
    download_failed = Signal(str, str)  # model id, message
    download_cancelled = Signal(str)
    import_finished = Signal(str)  # id of the (first) model imported
    import_failed = Signal(str, str)  # path, message
    offline_changed = Signal(bool)
    default_changed = Signal(str)  # the user made this model the default: the prompt panel takes it too
    settings_not_saved = Signal(str)  # why the offline switch could not be saved (it holds for this session)

    _ended_from_thread = Signal(str, str, str)  # job id, outcome, message

    def __init__(
        self, registry: Registry | None = None, settings: Settings | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._registry = registry or Registry()
        self.addons = AddonList(self._registry.root, self)  # LoRAs, embeddings and VAEs
        self._settings = settings
        self._jobs: dict[str, _Job] = {}
        self._installed: list[InstalledModel] | None = None
        self._missing: dict[str, str] = {}  # model id -> why it cannot run yet ("" when it can)
        self._vram_mb: int | bool | None = False  # False: not asked yet
        self._poll = QTimer(self)
        self._poll.setInterval(PROGRESS_INTERVAL_MS)
        self._poll.timeout.connect(self._report_progress)
        self._ended_from_thread.connect(self._on_ended, Qt.ConnectionType.QueuedConnection)
        self._offline_shown = self.offline()
        network.apply_environment(self._offline_shown)

    # ---- what is installed ---------------------------------------------------------------------

    def installed(self, include_previews: bool = False) -> list[InstalledModel]:
        """Models that make images (what a model picker offers); with ``include_previews`` also the
        tiny preview autoencoders (TAESD), as the Models dialog lists them."""
        if self._installed is None:
            self._installed = self._registry.installed()
        return [m for m in self._installed if include_previews or m.kind == "checkpoint"]

    def missing_parts(self, model: InstalledModel) -> str:
        """Why an SD 3 / Flux single file cannot run yet (its text encoders or VAE not found: the message
        says where to put them or what to download), or "" (headers only, remembered until ``refresh``)."""
        if model.id not in self._missing:
            self._missing[model.id] = missing_parts(model)
        return self._missing[model.id]

    def refresh(self) -> None:
        """Look at the disk again (models added or removed behind the app's back)."""
        self._installed = None
        self._missing.clear()
        self.installed_changed.emit()
        self.addons.refresh()

    def catalog(self) -> list[CatalogEntry]:
        return load_catalog()

    def default_model_id(self) -> str | None:
        chosen = self._registry.default_model_id()
        return chosen

    def set_default(self, model_id: str) -> None:
        """Raises ``ModelError`` for an unknown id."""
        self._registry.set_default(model_id)
        self.refresh()
        self.default_changed.emit(model_id)

    def remove(self, model_id: str) -> InstalledModel:
        """Remove a model (deleting only files Desktop SD put there). Raises ``ModelError``."""
        if model_id in self._jobs:
            self.cancel(model_id)
        removed = self._registry.remove(model_id)
        self.refresh()
        return removed

    def taesd_path(self, family: Family) -> Path | None:
        return self._registry.taesd_path(family)

    def recommended_entry(self) -> CatalogEntry | None:
        """SD-Turbo without a GPU or with little video memory; an SDXL model with a big GPU."""
        if self._vram_mb is False:
            self._vram_mb = sysinfo.gpu_vram_mb()
        return recommended(self.catalog(), self._vram_mb or None)

    def recommendation_reason(self, entry: CatalogEntry) -> str:
        """Why ``entry`` (the recommended one) suits this computer."""
        if self._vram_mb is False:
            self._vram_mb = sysinfo.gpu_vram_mb()
        return recommendation_reason(entry, self._vram_mb or None)

    # ---- offline -------------------------------------------------------------------------------

    def offline(self) -> bool:
        return network.is_offline(self._settings)

    def set_offline(self, offline: bool) -> None:
        settings = self._settings or Settings.load()  # a fresh read: never write back stale values of other keys
        settings.offline = offline
        try:
            settings.save()
        except OSError as exc:  # StorageError says why in words; the switch still holds for this session
            log.warning("could not save the offline setting: %s", exc)
            held = f"Offline mode is {'on' if offline else 'off'} until Desktop SD closes."
            self.settings_not_saved.emit(f"{exc} {held if self._settings is not None else ''}".strip())
        if not offline:
            network.reset_detected_offline()
        network.apply_environment(offline)
        self._offline_shown = self.offline()
        self.offline_changed.emit(self._offline_shown)

    # ---- downloads -----------------------------------------------------------------------------

    def download(self, what: CatalogEntry | str, file: str | None = None) -> str:
        """Start downloading a catalog entry, a repo id (with ``file``) or a URL; returns the model id.

        Asking again for a model already downloading does nothing. Failures,
        including bad names, arrive as ``download_failed``.
        """
        try:
            target = install.parse_target(what, file=file)
        except DesktopSDError as exc:
            key = what.id if isinstance(what, CatalogEntry) else str(what)
            self.download_failed.emit(key, str(exc))
            return key
        if target.id in self._jobs:
            return target.id
        job = _Job(target.id, target)
        job.thread = threading.Thread(target=self._run_download, args=(job,), name=f"download {target.id}", daemon=True)
        self._jobs[job.id] = job
        self.download_started.emit(job.id)
        job.thread.start()
        self._poll.start()
        return job.id

    def is_downloading(self, model_id: str) -> bool:
        job = self._jobs.get(model_id)
        return job is not None and job.target is not None

    def progress(self, model_id: str) -> Progress | None:
        job = self._jobs.get(model_id)
        return job.progress if job is not None else None

    def cancel(self, model_id: str, discard: bool = True) -> None:
        """Stop a download; ``discard`` removes its partial files (else it resumes next time)."""
        job = self._jobs.get(model_id)
        if job is not None:
            job.discard = discard
            job.cancelled.set()

    def _run_download(self, job: _Job) -> None:
        assert job.target is not None
        try:
            install.install(job.target, self._registry, job.meter, job.cancelled, self._settings)
        except Cancelled:
            if job.discard:
                install.discard(job.target)
            self._ended_from_thread.emit(job.id, "cancelled", "")
        except DesktopSDError as exc:
            self._ended_from_thread.emit(job.id, "failed", str(exc))
        except Exception as exc:  # a bug must not kill the thread silently
            log.exception("download of %s failed", job.id)
            self._ended_from_thread.emit(job.id, "failed", f"Unexpected error while downloading: {exc}")
        else:
            self._ended_from_thread.emit(job.id, "finished", "")

    def clean_partial_downloads(self) -> int:
        """Delete unfinished downloads not running now; returns the bytes freed."""
        return install.clean_partials()

    # ---- imports -------------------------------------------------------------------------------

    def import_path(self, path: str | Path, copy: bool) -> str:
        """Import a file, a diffusers folder or another app's folder on a worker thread; returns a job key."""
        key = f"import:{path}"
        if key in self._jobs:
            return key
        job = _Job(key, None)
        job.thread = threading.Thread(
            target=self._run_import, args=(job, Path(path), copy), name=f"import {path}", daemon=True
        )
        self._jobs[key] = job
        job.thread.start()
        return key

    def _run_import(self, job: _Job, path: Path, copy: bool) -> None:
        try:
            models = import_path(path, copy=copy, registry=self._registry, cancelled=job.cancelled)
        except Cancelled:
            self._ended_from_thread.emit(job.id, "import-failed", "Import cancelled.")
        except DesktopSDError as exc:
            self._ended_from_thread.emit(job.id, "import-failed", str(exc))
        except Exception as exc:
            log.exception("import of %s failed", path)
            self._ended_from_thread.emit(job.id, "import-failed", f"Unexpected error while importing: {exc}")
        else:
            self._ended_from_thread.emit(job.id, "imported", models[0].id if models else "")

    # ---- back on the GUI thread ----------------------------------------------------------------

    @Slot()
    def _report_progress(self) -> None:
        downloads = [job for job in self._jobs.values() if job.target is not None]
        if not downloads:
            self._poll.stop()
        for job in downloads:
            progress = job.meter.snapshot()
            if progress != job.progress:
                job.progress = progress
                self.download_progress.emit(job.id, progress.done, progress.total, progress.bytes_per_s)

    @Slot(str, str, str)
    def _on_ended(self, job_id: str, outcome: str, message: str) -> None:
        job = self._jobs.get(job_id)
        if job is not None and outcome == "finished":
            self._report_progress()  # the last figures (all bytes) before "finished"
        self._jobs.pop(job_id, None)
        if job is not None and job.thread is not None:
            job.thread.join(timeout=1)
        if outcome in ("finished", "imported"):
            self._installed = None
            self._missing.clear()  # a download may have brought a transformer file's text encoders
            self.installed_changed.emit()
        if outcome == "finished":
            self.download_finished.emit(job_id)
        elif outcome == "failed":
            if not self._offline_shown and self.offline():
                self._offline_shown = True  # the network was found unreachable: show offline mode as on
                self.offline_changed.emit(True)
            self.download_failed.emit(job_id, message)
        elif outcome == "cancelled":
            self.download_cancelled.emit(job_id)
        elif outcome == "imported":
            self.import_finished.emit(message)
        elif outcome == "import-failed":
            self.import_failed.emit(job_id.removeprefix("import:"), message)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every download (keeping partial files to resume) and wait for the threads."""
        for job in list(self._jobs.values()):
            job.discard = False
            job.cancelled.set()
        for job in list(self._jobs.values()):
            if job.thread is not None:
                job.thread.join(timeout)
        self._jobs.clear()
