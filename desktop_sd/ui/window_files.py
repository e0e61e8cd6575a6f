"""The main window's file commands: new, open, paste, save project, export, copy, model files.

Errors become non-blocking messages naming the problem; nothing here can lose
the canvas (opening an image is an undoable step).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop_sd.app.file_io import OPEN_FILTER, PROJECT_SUFFIX, export_png, image_from_clipboard, load_image_file
from desktop_sd.app.qimages import pil_to_qimage
from desktop_sd.core.document_io import load_document, save_document
from desktop_sd.core.errors import DesktopSDError, InputError
from desktop_sd.ui.message_area import Level
from desktop_sd.ui.new_canvas_dialog import NewCanvasDialog

if TYPE_CHECKING:
    from desktop_sd.ui.main_window import MainWindow


class WindowFiles:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.project_path: Path | None = None

    # ---- new / open / paste ------------------------------------------------------------------------------
    def new_canvas(self) -> None:
        w = self.window
        dialog = NewCanvasDialog(w.canvas.frame.size(), w)
        if dialog.exec():
            w.candidates.clear()
            w.canvas.new_blank(dialog.chosen_size())
            self.project_path = None
            w.view.zoom_fit()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open an image or project", self._folder(), OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Open an image (undoable) or a project. Errors are shown, never raised."""
        w = self.window
        path = Path(path)
        try:
            if path.suffix.lower() == PROJECT_SUFFIX:
                if not self.confirm_discard_canvas():
                    return False
                doc = load_document(path)
                w.load_document(doc)
                w.canvas.set_title(path.stem)
                self.project_path = path
            else:
                opened = load_image_file(path)
                w.canvas.set_image(opened.image, opened.title)
                self.project_path = None
                for notice in opened.notices:
                    w.show_message(notice, Level.INFO)
                if opened.parameters is not None and opened.parameters.prompt:
                    request = opened.parameters.to_request()
                    w.show_message(
                        f"{path.name} holds the settings it was made with ({opened.parameters.source}).",
                        Level.INFO,
                        [("Use them", lambda: w.reuse_parameters(request))],
                    )
        except DesktopSDError as exc:
            w.show_message(str(exc), Level.ERROR)
            return False
        self.settings_folder(path.parent)
        w.view.zoom_fit()
        w._update_central()
        return True

    def open_qimage(self, image: QImage, title: str = "Pasted image") -> bool:
        w = self.window
        try:
            image, notices = image_from_clipboard(image)
        except InputError as exc:
            w.show_message(str(exc), Level.ERROR)
            return False
        w.canvas.set_image(image, title)
        self.project_path = None
        for notice in notices:
            w.show_message(notice, Level.INFO)
        w.view.zoom_fit()
        w._update_central()
        return True

    def paste_image(self) -> None:
        data = QGuiApplication.clipboard().mimeData()
        if data is not None and data.hasImage():
            self.open_qimage(QImage(data.imageData()))
        elif data is not None and data.hasUrls() and data.urls()[0].isLocalFile():
            self.open_path(data.urls()[0].toLocalFile())
        else:
            self.window.show_message(
                "The clipboard holds no image. Copy an image first, or use File > Open.", Level.WARNING
            )

    def send_to_canvas(self, path: str, as_init: bool = False) -> None:
        """From the history: open an image as the canvas, or (``as_init``) place it in the frame.

        Placed in the frame it arrives as a candidate: applied, it becomes what
        the next img2img or inpaint job starts from, the rest of the canvas kept.
        """
        if not as_init:
            self.open_path(path)
            return
        w = self.window
        try:
            opened = load_image_file(path)
        except DesktopSDError as exc:
            w.show_message(str(exc), Level.ERROR)
            return
        request = opened.parameters.to_request() if opened.parameters is not None else None
        w.candidates.add_image(opened.image, w.canvas.frame, request)

    # ---- save / export / copy ----------------------------------------------------------------------------
    def save(self) -> bool:
        if self.project_path is None:
            return self.save_as()
        return self._save_to(self.project_path)

    def save_as(self) -> bool:
        w = self.window
        suggested = str(Path(self._folder()) / f"{w.canvas.title}{PROJECT_SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(w, "Save project", suggested, f"Desktop SD project (*{PROJECT_SUFFIX})")
        if not path:
            return False
        path_obj = Path(path)
        if path_obj.suffix.lower() != PROJECT_SUFFIX:
            path_obj = path_obj.with_suffix(PROJECT_SUFFIX)
        return self._save_to(path_obj)

    def _save_to(self, path: Path) -> bool:
        w = self.window
        try:
            save_document(w.document(), path)
        except DesktopSDError as exc:
            w.show_message(str(exc), Level.ERROR)
            return False
        self.project_path = path
        w.canvas.set_title(path.stem)
        w.canvas.undo_stack.setClean()
        self.settings_folder(path.parent)
        w.status.showMessage(f"Saved {path}", 5000)
        return True

    def export_dialog(self) -> None:
        w = self.window
        suggested = str(Path(self._folder()) / f"{Path(w.canvas.title).stem}.png")
        path, _ = QFileDialog.getSaveFileName(w, "Export image", suggested, "PNG image (*.png)")
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> Path | None:
        """Export the canvas as PNG, with the settings of the result it shows when there is one."""
        w = self.window
        try:
            written = export_png(w.canvas.flattened(), path, w.canvas.source)
        except DesktopSDError as exc:
            w.show_message(str(exc), Level.ERROR)
            return None
        self.settings_folder(written.parent)
        w.status.showMessage(f"Exported {written}", 5000)
        return written

    def copy_image(self) -> None:
        w = self.window
        current = w.candidates.current()
        image = current.image if current is not None else w.canvas.flattened()
        QGuiApplication.clipboard().setImage(image)
        w.status.showMessage("Copied the candidate" if current is not None else "Copied the canvas", 3000)

    # ---- models and the library --------------------------------------------------------------------------
    def add_model_dialog(self, folder: bool) -> None:
        w = self.window
        if folder:
            path = QFileDialog.getExistingDirectory(w, "Choose a diffusers model folder", self._folder())
        else:
            path, _ = QFileDialog.getOpenFileName(
                w, "Choose a model file", self._folder(), "Stable Diffusion checkpoint (*.safetensors)"
            )
        if path:
            self.add_model(path)

    def add_model(self, path: str | Path) -> bool:
        w = self.window
        try:
            choice = w.models.add_path(path)
        except DesktopSDError as exc:
            w.show_message(str(exc), Level.ERROR)
            return False
        w.prompt.update(model=choice.id)
        w.status.showMessage(f"Using {choice.name}", 4000)
        return True

    def choose_library_folder(self) -> None:
        w = self.window
        switch = w.services.switch_library
        if switch is None:
            return
        path = QFileDialog.getExistingDirectory(w, "Choose a folder for the history", self._folder())
        if not path:
            return
        error = switch(Path(path))
        if error:
            w.show_message(error, Level.ERROR, [("Choose folder…", self.choose_library_folder)])
            return
        if w.services.saver is not None:
            w.services.saver.retry()

    # ---- closing -----------------------------------------------------------------------------------------
    def confirm_discard_canvas(self) -> bool:
        """Ask before dropping canvas work that undo cannot bring back (a moved frame alone is not work)."""
        w = self.window
        if not w.modified or not w.has_work():
            return True
        answer = QMessageBox.question(
            w,
            "Unsaved canvas",
            "The canvas has changes that are not saved in a project. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def confirm_unsaved_results(self) -> bool:
        """Before quitting: offer to save images the history could not take, then the canvas."""
        w = self.window
        saver = w.services.saver
        if saver is not None:
            saver.wait_for_saves()  # a result that finished a moment ago is usually being written now
        count = saver.unsaved_count() if saver is not None else 0
        if count and saver is not None:
            answer = QMessageBox.warning(
                w,
                "Images not saved",
                f"{count} image(s) could not be saved to the history. Save them to a folder before quitting?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                return False
            if answer == QMessageBox.StandardButton.Save and not self._save_unsaved(saver.unsaved()):
                return False
        return self.confirm_discard_canvas()

    def _save_unsaved(self, items: list) -> bool:
        w = self.window
        folder = QFileDialog.getExistingDirectory(w, "Save the images to", self._folder())
        if not folder:
            return False
        try:
            for index, (image, request) in enumerate(items, 1):
                target = Path(folder) / f"desktop-sd-unsaved-{index}-{request.seed}.png"
                export_png(pil_to_qimage(image), target, request)
        except DesktopSDError as exc:
            w.show_message(str(exc), Level.ERROR)
            return False
        return True

    # ---- helpers -------------------------------------------------------------------------------------------
    def _folder(self) -> str:
        folder = self.window.settings.get("files.last_folder")
        return folder if isinstance(folder, str) and Path(folder).is_dir() else str(Path.home())

    def settings_folder(self, folder: Path) -> None:
        self.window.settings.set("files.last_folder", str(folder))
