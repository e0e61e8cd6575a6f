"""The history service: owns the one open ``Library`` and hands it to everything that uses it.

The result saver writes new images into it and the gallery model shows it.
Moving the history to another folder opens the new library, hands it to both
together, then closes the old one, so no part of the app keeps using a
library the user has left.

A damaged database is reported by ``damaged`` (from opening or from the
background reconcile); ``rebuild_in_background`` starts the history afresh
from the images, which carry their parameters.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop_sd.app.gallery_model import GalleryModel
from desktop_sd.app.result_saver import ResultSaver
from desktop_sd.core.errors import DesktopSDError, LibraryDamagedError
from desktop_sd.library.store import Library

log = logging.getLogger(__name__)


class History(QObject):
    """The open library (None when it could not be opened), its result saver and its gallery model."""

    library_changed = Signal(str)  # the folder of the library now open
    damaged = Signal(str)  # the database is damaged: the message, which says how to rebuild
    rebuild_finished = Signal(str)  # what the rebuild did, or why it failed
    _rebuilt = Signal(object, str)  # from the rebuild thread: the new Library (or None) and the message
    import_progress = Signal(int, int, float)  # files looked at, files in all, files a second
    import_finished = Signal(object)  # the ImportReport, or a str saying why the import could not run
    _imported = Signal(object)  # from the import thread

    def __init__(
        self, library: Library | None, saver: ResultSaver | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._library = library
        self.saver = saver if saver is not None else ResultSaver(library, self)
        self.gallery: GalleryModel | None = GalleryModel(library, parent=self) if library is not None else None
        self._closed = False
        self.damaged_folder: Path | None = None  # set when the database was found damaged
        self._rebuilding = False
        self._rebuilt.connect(self._on_rebuilt)
        self._imported.connect(self._on_imported)
        self._import_cancel: threading.Event | None = None  # set while an import runs

    @classmethod
    def open(cls, folder: Path | None, parent: QObject | None = None) -> tuple[History, str]:
        """The history at ``folder`` (default: the user's library folder), and an error message if it
        could not be opened (then new images are kept in memory until another folder is chosen, or,
        where ``damaged_folder`` is set, the history is rebuilt)."""
        try:
            library = Library.open(folder, reconcile=False)
        except LibraryDamagedError as exc:
            history = cls(None, parent=parent)
            history.damaged_folder = exc.folder
            return history, str(exc)
        except DesktopSDError as exc:
            return cls(None, parent=parent), str(exc)
        return cls(library, parent=parent), ""

    @property
    def library(self) -> Library | None:
        return self._library

    def switch_to(self, folder: Path) -> str | None:
        """Use the library at ``folder`` from now on. Returns an error message, or None on success.

        Saves already under way finish in the old library before it closes;
        images that could not be saved are retried in the new one.
        """
        try:
            library = Library.open(folder, reconcile=False)
        except DesktopSDError as exc:
            return str(exc)
        old = self._library
        self._use(library)
        if old is not None and old is not library:
            old.close()
        return None

    def _use(self, library: Library) -> None:
        self._library = library
        self.damaged_folder = None
        self.saver.wait_for_saves()
        self.saver.set_store(library)
        if self.gallery is None:
            self.gallery = GalleryModel(library, parent=self)
        else:
            self.gallery.set_library(library)
        self.library_changed.emit(str(library.folder))
        self.saver.retry()

    def importing(self) -> bool:
        return self._import_cancel is not None

    def import_in_background(self, paths: list[Path]) -> bool:
        """Copy image files and folders into the history on a thread; False if one is running already
        or there is no history. ``import_progress`` and then ``import_finished`` report on it."""
        library = self._library
        if library is None or self._import_cancel is not None or self._closed:
            return False
        cancel = self._import_cancel = threading.Event()
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            with contextlib.suppress(RuntimeError):  # the window closed meanwhile
                self.import_progress.emit(done, total, done / max(1e-6, time.monotonic() - started))

        def run() -> None:
            result: object
            try:
                result = library.import_files(paths, on_file=progress, cancelled=cancel)
            except DesktopSDError as exc:
                result = f"The images could not be imported: {exc}"
            with contextlib.suppress(RuntimeError):
                self._imported.emit(result)

        threading.Thread(target=run, name="history-import", daemon=True).start()
        return True

    def cancel_import(self) -> None:
        if self._import_cancel is not None:
            self._import_cancel.set()

    def _on_imported(self, result: object) -> None:
        self._import_cancel = None
        self.import_finished.emit(result)

    def reconcile_in_background(self) -> None:
        """Bring the records in line with the folder (files added or removed while the app was closed)."""
        library = self._library
        if library is None:
            return

        def run() -> None:
            try:
                library.reconcile()
            except LibraryDamagedError as exc:
                log.warning("%s", exc)
                self.damaged_folder = exc.folder
                with contextlib.suppress(RuntimeError):  # the window may have closed meanwhile
                    self.damaged.emit(str(exc))
            except DesktopSDError as exc:
                log.warning("The history could not be checked against its folder: %s", exc)

        threading.Thread(target=run, name="history-reconcile", daemon=True).start()

    def rebuild_in_background(self) -> None:
        """Start the damaged history afresh from its images (see ``Library.rebuild``) on a thread;
        ``rebuild_finished`` says how it went. New images wait in memory meanwhile."""
        folder = self.damaged_folder or (self._library.folder if self._library is not None else None)
        if folder is None or self._rebuilding or self._closed:
            return
        self._rebuilding = True
        self.saver.wait_for_saves()
        self.saver.set_store(None)
        old, self._library = self._library, None

        def run() -> None:
            if old is not None:
                old.close()
            try:
                library: Library | None = Library.rebuild(folder)
            except DesktopSDError as exc:
                library, message = None, f"The history could not be rebuilt: {exc}"
            else:
                assert library is not None
                report = library.last_reconcile
                skipped = f"; {len(report.skipped)} files could not be read" if report.skipped else ""
                images = f"{report.indexed} image" + ("" if report.indexed == 1 else "s")
                message = f"The history was rebuilt from {images}{skipped}."
            try:
                self._rebuilt.emit(library, message)
            except RuntimeError:  # the window closed meanwhile
                if library is not None:
                    library.close()

        threading.Thread(target=run, name="history-rebuild", daemon=True).start()

    def _on_rebuilt(self, library: Library | None, message: str) -> None:
        self._rebuilding = False
        if library is not None:
            if self._closed:
                library.close()
                return
            self._use(library)
        self.rebuild_finished.emit(message)

    def close(self) -> None:
        """Let pending saves finish, stop the gallery, close the library. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.cancel_import()  # a file being copied finishes; a copy left without its record is found next time
        self.saver.shutdown()
        if self.gallery is not None:
            self.gallery.close()
        if self._library is not None:
            self._library.close()
