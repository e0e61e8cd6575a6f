"""The main window's History dock over the history service: the gallery, or a placeholder until one opens.

It also tells the user when images could not be saved, and closes the gallery
before the library it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QProgressDialog

from desktop_sd.app.generation import GenerationController
from desktop_sd.app.history import History
from desktop_sd.app.messages import Level
from desktop_sd.core.request import GenerationRequest
from desktop_sd.library.records import ImportReport
from desktop_sd.ui.gallery import GalleryDock
from desktop_sd.ui.message_area import MessageArea
from desktop_sd.ui.window_files import WindowFiles
from desktop_sd.ui.window_upscale import WindowUpscale


class WindowHistory:
    def __init__(
        self,
        window: QMainWindow,
        history: History | None,
        generation: GenerationController,
        files: WindowFiles,
        messages: MessageArea,
        on_reuse: Callable[[GenerationRequest], None],
    ) -> None:
        self._window = window
        self._history = history
        self._generation = generation
        self._files = files
        self._messages = messages
        # "Upscale…" on history images and the canvas; a refine in tiles uses the prompt panel's settings
        self.upscaling = WindowUpscale(window, generation.queue, messages, generation.prompt, files.models.name_of)
        self._on_reuse = on_reuse
        self.view_menu: QMenu | None = None  # where the dock's show/hide entry goes when the dock is replaced
        self.dock = self._make_dock()
        self.progress: QProgressDialog | None = None
        if history is not None:
            history.import_progress.connect(self._on_import_progress)
            history.import_finished.connect(self._on_imported)
            history.saver.save_failed.connect(self._on_save_failed)
            history.library_changed.connect(self._on_library_changed)

    def _make_dock(self) -> QDockWidget:
        area = Qt.DockWidgetArea.RightDockWidgetArea
        if self._history is None or self._history.gallery is None:
            placeholder = QLabel("Your images will appear here as they are made.", wordWrap=True)
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            placeholder.setMargin(12)
            dock = QDockWidget("History", self._window)
            dock.setObjectName("history-dock")
            dock.setWidget(placeholder)
        else:
            dock = GalleryDock(self._history.gallery, self._window)
            dock.dialogs.notify = self._notify  # gallery errors: non-blocking, above the canvas
            dock.reuse_parameters.connect(self._on_reuse)
            dock.reuse_seed.connect(self._generation.reuse_seed)
            dock.send_to_canvas.connect(self._files.send_to_canvas)
            dock.import_requested.connect(lambda paths: self.import_paths([Path(p) for p in paths]))
            dock.upscale_requested.connect(lambda path: self.upscaling.ask_and_upscale_file(Path(path)))
        self._window.addDockWidget(area, dock)
        return dock

    # ---- importing images into the history ------------------------------------------------------------
    def import_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self._window, "Import images into the history", "", "Images (*.png *.jpg *.jpeg *.webp)"
        )
        if paths:
            self.import_paths([Path(p) for p in paths])

    def import_paths(self, paths: list[Path]) -> None:
        """Copy ``paths`` (files and folders) into the history, with a progress dialog that can cancel."""
        if self._history is None or self._history.library is None:
            self._notify("The history is not available, so nothing can be imported into it.", Level.ERROR)
            return
        if not self._history.import_in_background(paths):
            self._notify("An import is already running; wait for it to finish, or cancel it.", Level.INFO)
            return
        progress = QProgressDialog("Looking for images…", "Cancel", 0, 0, self._window)
        progress.setWindowTitle("Importing images")
        progress.setMinimumDuration(300)  # a quick import finishes before any dialog appears
        progress.canceled.connect(self._history.cancel_import)
        self.progress = progress

    def _on_import_progress(self, done: int, total: int, per_second: float) -> None:
        if self.progress is not None:
            self.progress.setMaximum(total)
            self.progress.setValue(done)
            self.progress.setLabelText(f"Imported {done} of {total} images ({per_second:.1f} a second)")

    def _on_imported(self, result: object) -> None:
        if self.progress is not None:
            self.progress.canceled.disconnect()
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        if isinstance(result, ImportReport):
            self._notify(result.summary(), Level.WARNING if result.skipped else Level.INFO)
        else:
            self._notify(str(result), Level.ERROR)

    def _notify(self, text: str, level: str) -> None:
        self._messages.show_message(text, level)

    def _on_library_changed(self, folder: str) -> None:
        self._window.statusBar().showMessage(f"The history is now kept in {folder}", 5000)
        if isinstance(self.dock, GalleryDock):
            return
        placeholder, self.dock = self.dock, self._make_dock()  # the first library that opened: show its gallery
        self._window.tabifyDockWidget(placeholder, self.dock)
        self._window.removeDockWidget(placeholder)
        placeholder.deleteLater()
        if self.view_menu is not None:
            self.view_menu.addAction(self.dock.toggleViewAction())

    def _on_save_failed(self, _job_id: int, message: str) -> None:
        assert self._history is not None
        saver = self._history.saver
        self._messages.show_message(
            f"Could not save {saver.unsaved_count()} image(s) to the history: {message} They are kept in "
            "memory until saved: retry, or choose another folder.",
            Level.ERROR,
            [("Retry", saver.retry), ("Choose folder…", self._files.choose_library_folder)],
        )

    def close(self) -> None:
        """Delete the gallery (it reads the library until it is gone), then close the history."""
        if isinstance(self.dock, GalleryDock) and shiboken6.isValid(self.dock):
            self._window.removeDockWidget(self.dock)
            shiboken6.delete(self.dock)
        if self._history is not None:
            self._history.close()
