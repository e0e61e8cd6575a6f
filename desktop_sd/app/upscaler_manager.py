"""Upscaler models for the Models dialog: what is installed, the catalog, downloads and imports.

Downloads and imports run on their own threads; results come back to the GUI thread by queued
signals. The files themselves are handled by ``models.upscalers``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from desktop_sd.core.errors import Cancelled, DesktopSDError
from desktop_sd.core.settings import Settings
from desktop_sd.models import upscalers
from desktop_sd.models.progress import Meter
from desktop_sd.models.registry import Registry
from desktop_sd.models.upscalers import CatalogUpscaler, UpscalerFile

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_MS = 250


class UpscalerManager(QObject):
    changed = Signal()  # the installed upscalers changed
    download_progress = Signal(str, "qint64", "qint64")  # type: ignore[arg-type]  # catalog id, done, total
    download_finished = Signal(str)
    download_failed = Signal(str, str)  # catalog id, message
    import_failed = Signal(str)  # message

    _ended = Signal(str, str, str)  # key, outcome, message (from a worker thread)

    def __init__(
        self,
        linked: Callable[[], Iterable[Path]] | None = None,
        settings: Settings | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._linked = linked or (lambda: Registry().folders())
        self._settings = settings
        self._threads: dict[str, tuple[threading.Thread, Meter, threading.Event]] = {}
        self._poll = QTimer(self)
        self._poll.setInterval(PROGRESS_INTERVAL_MS)
        self._poll.timeout.connect(self._report_progress)
        self._ended.connect(self._on_ended, Qt.ConnectionType.QueuedConnection)

    def installed(self) -> list[UpscalerFile]:
        try:
            linked = list(self._linked())
        except (DesktopSDError, OSError):
            linked = []
        return upscalers.list_upscalers(linked)

    def catalog(self) -> list[CatalogUpscaler]:
        return upscalers.load_upscaler_catalog()

    def is_installed(self, entry: CatalogUpscaler) -> bool:
        return (upscalers.upscalers_dir() / entry.file).is_file()

    def is_downloading(self, entry_id: str) -> bool:
        return entry_id in self._threads

    def download(self, entry: CatalogUpscaler) -> None:
        """Start downloading ``entry`` (nothing happens when it already downloads)."""
        if entry.id in self._threads:
            return
        meter, cancelled = Meter(lambda _p: None, total=entry.size_bytes), threading.Event()

        def run() -> None:
            try:
                upscalers.download_upscaler(entry, sink=meter, cancelled=cancelled, settings=self._settings)
            except Cancelled:
                self._ended.emit(entry.id, "failed", "Download cancelled.")
            except DesktopSDError as exc:
                self._ended.emit(entry.id, "failed", str(exc))
            except Exception as exc:  # a bug must not end the thread silently
                log.exception("download of %s failed", entry.id)
                self._ended.emit(entry.id, "failed", f"Unexpected error while downloading: {exc}")
            else:
                self._ended.emit(entry.id, "finished", "")

        thread = threading.Thread(target=run, name=f"download {entry.id}", daemon=True)
        self._threads[entry.id] = (thread, meter, cancelled)
        thread.start()
        self._poll.start()

    def import_file(self, path: str | Path) -> None:
        """Copy an upscaler file into the app's folder on a worker thread."""
        key = f"import:{path}"
        if key in self._threads:
            return

        def run() -> None:
            try:
                upscalers.import_upscaler(Path(path))
            except DesktopSDError as exc:
                self._ended.emit(key, "import-failed", str(exc))
            else:
                self._ended.emit(key, "imported", "")

        thread = threading.Thread(target=run, name=f"import {path}", daemon=True)
        self._threads[key] = (thread, Meter(lambda _p: None), threading.Event())
        thread.start()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop downloads (their partial files stay to resume) and wait for the threads."""
        for _thread, _meter, cancelled in self._threads.values():
            cancelled.set()
        for thread, _meter, _cancelled in list(self._threads.values()):
            thread.join(timeout)
        self._threads.clear()

    @Slot()
    def _report_progress(self) -> None:
        downloads = {k: v for k, v in self._threads.items() if not k.startswith("import:")}
        if not downloads:
            self._poll.stop()
        for key, (_thread, meter, _cancelled) in downloads.items():
            progress = meter.snapshot()
            self.download_progress.emit(key, progress.done, progress.total)

    @Slot(str, str, str)
    def _on_ended(self, key: str, outcome: str, message: str) -> None:
        entry = self._threads.pop(key, None)
        if entry is not None:
            entry[0].join(timeout=1)
        if outcome in ("finished", "imported"):
            self.changed.emit()
        if outcome == "finished":
            self.download_finished.emit(key)
        elif outcome == "failed":
            self.download_failed.emit(key, message)
        elif outcome == "import-failed":
            self.import_failed.emit(message)
