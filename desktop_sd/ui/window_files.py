"""The main window's file commands: new, open, paste, save project, export, copy, model files.

Errors become non-blocking messages naming the problem; nothing here can lose
the canvas (opening an image is an undoable step).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QStatusBar, QWidget

from desktop_sd.app.canvas_document import UNTITLED
from desktop_sd.app.file_io import OPEN_FILTER, PROJECT_SUFFIX, export_png, image_from_clipboard, load_image_file
from desktop_sd.app.generation import GenerationController
from desktop_sd.app.history import History
from desktop_sd.app.messages import Level
from desktop_sd.app.model_choices import ModelChoices
from desktop_sd.app.model_manager import ModelManager
from desktop_sd.app.qimages import pil_to_qimage
from desktop_sd.core.document_io import load_document, save_document
from desktop_sd.core.errors import DesktopSDError, InputError
from desktop_sd.core.model_files import PICKLE_SUFFIXES
from desktop_sd.core.settings import Settings
from desktop_sd.library.image_files import IMAGE_SUFFIXES
from desktop_sd.ui import questions
from desktop_sd.ui.message_area import MessageArea
from desktop_sd.ui.new_canvas_dialog import NewCanvasDialog


class WindowFiles:
    """File commands over the window's parts; ``on_shown`` runs after the canvas shows something new."""

    def __init__(
        self,
        parent: QWidget,
        generation: GenerationController,
        models: ModelChoices,
        settings: Settings,
        history: History | None,
        messages: MessageArea,
        status: QStatusBar,
        on_shown: Callable[[], None],
        model_manager: ModelManager | None = None,
    ) -> None:
        self.parent = parent
        self.generation = generation
        self.canvas = generation.canvas
        self.models = models
        self.settings = settings
        self.history = history
        self.messages = messages
        self.status = status
        self.on_shown = on_shown
        self.model_manager = model_manager
        self.project_path: Path | None = None
        self._converting: set[str] = set()  # pickle checkpoints being converted for the model picker
        if model_manager is not None:
            model_manager.import_finished.connect(self._on_converted)
            model_manager.import_failed.connect(self._on_conversion_failed)

    def _notify(
        self, text: str, level: Level = Level.INFO, actions: list[tuple[str, Callable[[], None]]] | None = None
    ) -> None:
        self.messages.show_message(text, level, actions)

    def handle_second_launch(self, args: list[str]) -> None:
        """Another ``desktop-sd`` was started: bring the window to the front and open what it was given."""
        window = self.parent.window()
        window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
        window.show()
        window.raise_()
        window.activateWindow()
        for arg in args:
            if not arg.startswith("-") and Path(arg).exists():
                self.open_path(arg)

    # ---- new / open / paste ------------------------------------------------------------------------------
    def new_canvas(self) -> None:
        dialog = NewCanvasDialog(self.canvas.frame.size(), self.parent)
        if dialog.exec():
            self.generation.candidates.clear()
            self.canvas.new_blank(dialog.chosen_size())
            self.project_path = None
            self.on_shown()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open an image or project", self._folder(), OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Open an image (undoable) or a project. Errors are shown, never raised."""
        path = Path(path)
        try:
            if path.suffix.lower() == PROJECT_SUFFIX:
                if not self.confirm_discard_canvas():
                    return False
                self.generation.load_document(load_document(path))
                self.canvas.set_title(path.stem)
                self.project_path = path
            else:
                opened = load_image_file(path)
                self.generation.candidates.clear()  # they were made for the image that was there
                self.canvas.set_image(opened.image, opened.title)
                self.project_path = None
                for notice in opened.notices:
                    self._notify(notice)
                if opened.parameters is not None and opened.parameters.prompt:
                    request = opened.parameters.to_request()
                    self._notify(
                        f"{path.name} holds the settings it was made with ({opened.parameters.source}).",
                        Level.INFO,
                        [("Use them", lambda: self.generation.reuse_parameters(request))],
                    )
        except DesktopSDError as exc:
            self._notify(str(exc), Level.ERROR)
            return False
        self.remember_folder(path.parent)
        self.on_shown()
        return True

    def open_qimage(self, image: QImage, title: str = "Pasted image") -> bool:
        try:
            image, notices = image_from_clipboard(image)
        except InputError as exc:
            self._notify(str(exc), Level.ERROR)
            return False
        self.generation.candidates.clear()
        self.canvas.set_image(image, title)
        self.project_path = None
        for notice in notices:
            self._notify(notice)
        self.on_shown()
        return True

    def paste_image(self) -> None:
        data = QGuiApplication.clipboard().mimeData()
        if data is not None and data.hasImage():
            self.open_qimage(QImage(data.imageData()))
        elif data is not None and data.hasUrls() and data.urls()[0].isLocalFile():
            self.open_path(data.urls()[0].toLocalFile())
        else:
            self._notify("The clipboard holds no image. Copy an image first, or use File > Open.", Level.WARNING)

    def send_to_canvas(self, path: str, as_init: bool = False) -> None:
        """From the history: open an image as the canvas, or (``as_init``) place it in the frame.

        Placed in the frame it arrives as a candidate: applied, it becomes what
        the next img2img or inpaint job starts from, the rest of the canvas kept.
        """
        if not as_init:
            self.open_path(path)
            return
        try:
            opened = load_image_file(path)
        except DesktopSDError as exc:
            self._notify(str(exc), Level.ERROR)
            return
        request = opened.parameters.to_request() if opened.parameters is not None else None
        self.generation.candidates.add_image(opened.image, self.canvas.frame, request)

    # ---- save / export / copy ----------------------------------------------------------------------------
    def save(self) -> bool:
        if self.project_path is None:
            return self.save_as()
        return self.save_to(self.project_path)

    def save_as(self) -> bool:
        suggested = str(Path(self._folder()) / f"{self.document_name()}{PROJECT_SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(
            self.parent, "Save project", suggested, f"Desktop SD project (*{PROJECT_SUFFIX})"
        )
        if not path:
            return False
        path_obj = Path(path)
        if path_obj.suffix.lower() != PROJECT_SUFFIX:
            path_obj = path_obj.with_suffix(PROJECT_SUFFIX)
        return self.save_to(path_obj)

    def save_to(self, path: Path) -> bool:
        try:
            save_document(self.generation.document(), path)
        except DesktopSDError as exc:
            self._notify(str(exc), Level.ERROR)
            return False
        self.project_path = path
        self.canvas.set_title(path.stem)
        self.canvas.undo_stack.setClean()
        self.remember_folder(path.parent)
        self.status.showMessage(f"Saved {path}", 5000)
        return True

    def export_dialog(self) -> None:
        suggested = str(Path(self._folder()) / f"{self.document_name()}.png")
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export image", suggested, "PNG image (*.png)")
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> Path | None:
        """Export the canvas as PNG, with the settings of the result it shows when there is one."""
        try:
            written = export_png(self.canvas.flattened(), path, self.canvas.source)
        except DesktopSDError as exc:
            self._notify(str(exc), Level.ERROR)
            return None
        self.remember_folder(written.parent)
        self.status.showMessage(f"Exported {written}", 5000)
        return written

    def copy_image(self) -> None:
        current = self.generation.candidates.current()
        image = current.image if current is not None else self.canvas.flattened()
        QGuiApplication.clipboard().setImage(image)
        self.status.showMessage("Copied the candidate" if current is not None else "Copied the canvas", 3000)

    # ---- models and the library --------------------------------------------------------------------------
    def add_model_dialog(self, folder: bool) -> None:
        if folder:
            path = QFileDialog.getExistingDirectory(self.parent, "Choose a diffusers model folder", self._folder())
        else:
            pickled = " ".join(f"*{suffix}" for suffix in PICKLE_SUFFIXES)
            path, _ = QFileDialog.getOpenFileName(
                self.parent,
                "Choose a model file",
                self._folder(),
                f"Stable Diffusion checkpoints (*.safetensors {pickled});;Safe checkpoints (*.safetensors);;"
                f"Pickle checkpoints, converted first ({pickled})",
            )
        if path:
            self.add_model(path)

    def add_model(self, path: str | Path) -> bool:
        """Offer a model file or folder; a pickle checkpoint is converted to a safe copy first (in the background)."""
        if Path(path).suffix.lower() in PICKLE_SUFFIXES and self.model_manager is not None:
            self.model_manager.import_path(path, copy=True)
            self._converting.add(str(path))
            self._notify(
                f"Converting {Path(path).name} to a safe .safetensors copy (a pickle file can hide code). "
                "It is chosen as soon as it is ready.",
                Level.INFO,
            )
            return True
        try:
            choice = self.models.add_path(path)
        except DesktopSDError as exc:
            self._notify(str(exc), Level.ERROR)
            return False
        self.generation.prompt.update(model=choice.id)
        self.status.showMessage(f"Using {choice.name}", 4000)
        return True

    def _on_converted(self, model_id: str) -> None:
        if not self._converting or not model_id:
            return
        self._converting.clear()
        self.generation.prompt.update(model=model_id)
        self.status.showMessage(f"Using {self.models.name_of(model_id)}", 4000)

    def _on_conversion_failed(self, path: str, message: str) -> None:
        if path in self._converting:
            self._converting.discard(path)
            self._notify(f"{Path(path).name} could not be used: {message}", Level.ERROR)

    def choose_library_folder(self) -> None:
        if self.history is None:
            return
        path = QFileDialog.getExistingDirectory(self.parent, "Choose a folder for the history", self._folder())
        if not path:
            return
        error = self.history.switch_to(Path(path))
        if error:
            self._notify(error, Level.ERROR, [("Choose folder…", self.choose_library_folder)])

    # ---- closing -----------------------------------------------------------------------------------------
    def confirm_discard_canvas(self) -> bool:
        """Ask before dropping canvas work that undo cannot bring back (a moved frame alone is not work)."""
        if self.canvas.undo_stack.isClean() or not self.canvas.has_work():
            return True
        answer = questions.ask_save_discard(
            self.parent,
            "Unsaved canvas",
            "The canvas has changes that are not saved in a project. Save them first?",
        )
        if answer == questions.Button.Save:
            return self.save()
        return answer == questions.Button.Discard

    def confirm_unsaved_results(self) -> bool:
        """Before quitting: offer to save images the history could not take, then the canvas."""
        saver = self.generation.saver
        if saver is not None:
            saver.wait_for_saves()  # a result that finished a moment ago is usually being written now
        count = saver.unsaved_count() if saver is not None else 0
        if count and saver is not None:
            answer = questions.ask_save_discard(
                self.parent,
                "Images not saved",
                f"{count} image(s) could not be saved to the history. Save them to a folder before quitting?",
                warning=True,
            )
            if answer == questions.Button.Cancel:
                return False
            if answer == questions.Button.Save and not self._save_unsaved(saver.unsaved()):
                return False
        return self.confirm_discard_canvas()

    def _save_unsaved(self, items: list[tuple[Any, Any]]) -> bool:
        folder = QFileDialog.getExistingDirectory(self.parent, "Save the images to", self._folder())
        if not folder:
            return False
        try:
            for index, (image, request) in enumerate(items, 1):
                target = Path(folder) / f"desktop-sd-unsaved-{index}-{request.seed}.png"
                export_png(pil_to_qimage(image), target, request)
        except DesktopSDError as exc:
            self._notify(str(exc), Level.ERROR)
            return False
        return True

    def document_name(self) -> str:
        """A file name (no suffix) for the canvas: its project's or image's name, else the prompt that made it."""
        if self.project_path is not None:
            return self.project_path.stem
        title = self.canvas.title
        source = self.canvas.source
        if title == UNTITLED and source is not None and source.prompt.strip():
            words = re.findall(r"[\w-]+", source.prompt)[:6]
            return "-".join(words + ([str(source.seed)] if source.seed is not None else []))[:80]
        return Path(title).stem if Path(title).suffix.lower() in IMAGE_SUFFIXES else title

    # ---- helpers -------------------------------------------------------------------------------------------
    def _folder(self) -> str:
        folder = self.settings.last_folder
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def remember_folder(self, folder: Path) -> None:
        self.settings.last_folder = str(folder)
