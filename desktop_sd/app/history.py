"""The history service: owns the one open ``Library`` and hands it to everything that uses it.

The result saver writes new images into it and the gallery model shows it.
Moving the history to another folder opens the new library, hands it to both
together, then closes the old one, so no part of the app keeps using a
library the user has left.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop_sd.app.gallery_model import GalleryModel
from desktop_sd.app.result_saver import ResultSaver
from desktop_sd.core.errors import DesktopSDError
from desktop_sd.library.store import Library

log = logging.getLogger(__name__)


class History(QObject):
    """The open library (None when it could not be opened), its result saver and its gallery model."""

    library_changed = Signal(str)  # the folder of the library now open

    def __init__(
        self, library: Library | None, saver: ResultSaver | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._library = library
        self.saver = saver if saver is not None else ResultSaver(library, self)
        self.gallery: GalleryModel | None = GalleryModel(library, parent=self) if library is not None else None
        self._closed = False

    @classmethod
    def open(cls, folder: Path | None, parent: QObject | None = None) -> tuple[History, str]:
        """The history at ``folder`` (default: the user's library folder), and an error message if it
        could not be opened (then new images are kept in memory until another folder is chosen)."""
        try:
            library = Library.open(folder, reconcile=False)
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
        old, self._library = self._library, library
        self.saver.wait_for_saves()
        self.saver.set_store(library)
        if self.gallery is None:
            self.gallery = GalleryModel(library, parent=self)
        else:
            self.gallery.set_library(library)
        if old is not None and old is not library:
            old.close()
        self.library_changed.emit(str(library.folder))
        self.saver.retry()
        return None

    def reconcile_in_background(self) -> None:
        """Bring the records in line with the folder (files added or removed while the app was closed)."""
        library = self._library
        if library is None:
            return

        def run() -> None:
            try:
                library.reconcile()
            except DesktopSDError as exc:
                log.warning("The history could not be checked against its folder: %s", exc)

        threading.Thread(target=run, name="history-reconcile", daemon=True).start()

    def close(self) -> None:
        """Let pending saves finish, stop the gallery, close the library. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.saver.shutdown()
        if self.gallery is not None:
            self.gallery.close()
        if self._library is not None:
            self._library.close()
