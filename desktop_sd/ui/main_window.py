"""The main window: canvas in the centre, prompt panel, history and queue docks, menus, toolbar, status bar.

It binds the app-layer models (canvas document, prompt model, job queue,
candidates, result saver) to their widgets and turns user commands into
jobs. File commands live in ``window_files``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import shiboken6
from PySide6.QtCore import QByteArray, QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QImage
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop_sd.app.candidates import Candidates
from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.model_choices import ModelChoices
from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.app.result_saver import ResultSaver
from desktop_sd.app.tokens import TokenCounter
from desktop_sd.core.backend import BackendStatus
from desktop_sd.core.document import Document
from desktop_sd.core.errors import InputError
from desktop_sd.core.request import GenerationRequest, GenerationResult, Mode
from desktop_sd.core.settings import Settings
from desktop_sd.core.validation import check_request
from desktop_sd.ui.actions import WindowActions
from desktop_sd.ui.candidate_bar import CandidateBar
from desktop_sd.ui.canvas_view import CanvasView, Tool
from desktop_sd.ui.message_area import Level, MessageArea
from desktop_sd.ui.prompt_panel import PromptPanel
from desktop_sd.ui.queue_panel import QueuePanel
from desktop_sd.ui.status_bar import StatusBar
from desktop_sd.ui.welcome_panel import WelcomePanel
from desktop_sd.ui.window_files import WindowFiles
from desktop_sd.ui.window_menus import (
    APP_TITLE,
    build_menus,
    build_toolbar,
    open_log_folder,
    show_about,
    show_shortcuts,
)

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1


@dataclass
class WindowServices:
    """What the composition root hands the window."""

    settings: Settings
    queue: JobQueue
    models: ModelChoices
    tokens: TokenCounter
    saver: ResultSaver | None = None
    history: QWidget | None = None  # the gallery dock, when the library is available
    model_manager: object | None = None  # app.model_manager.ModelManager
    open_models_dialog: Callable[[QWidget], None] | None = None
    switch_library: Callable[[Path], str | None] | None = None  # reopen history at a folder; error text or None
    closers: list[Callable[[], None]] = field(default_factory=list)  # run last at shutdown (close the library)


class MainWindow(QMainWindow):
    document_changed = Signal()
    result_applied = Signal()
    # Made by build_toolbar and build_menus (window_menus):
    brush_size: QSpinBox
    hardness: QSlider
    toolbar: QToolBar
    undo_action: QAction
    redo_action: QAction

    def __init__(self, services: WindowServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.settings = services.settings
        self.queue = services.queue
        self.models = services.models
        self.setObjectName("main-window")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.canvas = CanvasDocument(parent=self)
        self.prompt = PromptModel(PromptValues.from_dict(self.settings.get("prompt")), self)
        self.candidates = Candidates(self)
        self.actions_ = WindowActions(self)
        self.files = WindowFiles(self)
        self._job_frames: dict[int, QRect] = {}
        self._job_clips: dict[int, QImage] = {}  # inpaint jobs: where the result will show
        self._loaded_model = False

        self._build_central()
        self.prompt_panel = PromptPanel(self.prompt, services.tokens, self.actions_.generate, self.actions_.cancel)
        self.prompt_dock = self._dock("Prompt", "prompt-dock", self.prompt_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.history_dock = self._history_dock(services.history)
        self.queue_panel = QueuePanel(self.queue)
        self.queue_dock = self._dock("Queue", "queue-dock", self.queue_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        build_toolbar(self)
        build_menus(self)
        self.resize(QSize(1280, 820))
        self.resizeDocks([self.prompt_dock, self.history_dock], [330, 360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.history_dock, self.queue_dock], [560, 140], Qt.Orientation.Vertical)
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._connect()
        self._restore_settings()
        self._refresh_models()
        self._update_title()
        self._update_candidate_actions()
        if self.settings.notice:
            self.show_message(self.settings.notice, Level.WARNING)

    # ---- construction ------------------------------------------------------------------------------
    def _build_central(self) -> None:
        self.view = CanvasView(self.canvas)
        a = self.actions_
        self.candidate_bar = CandidateBar(self.candidates, a.previous, a.next, a.apply, a.discard, self.view)
        self.welcome = WelcomePanel()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.welcome)
        self.messages = MessageArea()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.messages)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _history_dock(self, history: QWidget | None) -> QDockWidget:
        if isinstance(history, QDockWidget):
            dock = history
            dock.setParent(self)
            dock.setObjectName(dock.objectName() or "history-dock")
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        else:
            placeholder = QLabel("Your images will appear here as they are made.", wordWrap=True)
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            placeholder.setMargin(12)
            dock = self._dock("History", "history-dock", history or placeholder, Qt.DockWidgetArea.RightDockWidgetArea)
        for name, slot in (
            ("reuse_parameters", self.reuse_parameters),
            ("reuse_seed", self.reuse_seed),
            ("send_to_canvas", self.files.send_to_canvas),
        ):
            signal = getattr(dock, name, None)
            if signal is not None:
                signal.connect(slot)
        return dock

    def _connect(self) -> None:
        a, q, c = self.actions_, self.queue, self.canvas
        a.new.triggered.connect(self.files.new_canvas)
        a.open.triggered.connect(self.files.open_dialog)
        a.save.triggered.connect(self.files.save)
        a.save_as.triggered.connect(self.files.save_as)
        a.export.triggered.connect(self.files.export_dialog)
        a.quit.triggered.connect(self.close)
        a.copy.triggered.connect(self.files.copy_image)
        a.paste.triggered.connect(self.files.paste_image)
        a.clear_mask.triggered.connect(c.clear_mask)
        a.invert_mask.triggered.connect(c.invert_mask)
        a.fill_mask.triggered.connect(c.fill_mask)
        a.zoom_in.triggered.connect(lambda: self.view.zoom_by(1.25))
        a.zoom_out.triggered.connect(lambda: self.view.zoom_by(0.8))
        a.zoom_fit.triggered.connect(self.view.zoom_fit)
        a.zoom_actual.triggered.connect(self.view.zoom_actual)
        a.reset_layout.triggered.connect(lambda: self.restoreState(self._default_state, LAYOUT_VERSION))
        a.tool_frame.triggered.connect(lambda: self.view.set_tool(Tool.FRAME))
        a.tool_brush.triggered.connect(lambda: self.view.set_tool(Tool.BRUSH))
        a.tool_eraser.triggered.connect(lambda: self.view.set_tool(Tool.ERASER))
        a.brush_smaller.triggered.connect(lambda: self.brush_size.setValue(round(self.brush_size.value() / 1.25)))
        a.brush_larger.triggered.connect(lambda: self.brush_size.setValue(round(self.brush_size.value() * 1.25 + 1)))
        self.brush_size.valueChanged.connect(self.view.set_brush_size)
        self.hardness.valueChanged.connect(lambda v: self.view.set_hardness(v / 100))
        a.generate.triggered.connect(self.generate)
        a.cancel.triggered.connect(self.cancel)
        a.previous.triggered.connect(lambda: self.candidates.step(-1))
        a.next.triggered.connect(lambda: self.candidates.step(1))
        a.apply.triggered.connect(self.apply_candidate)
        a.discard.triggered.connect(self.candidates.discard)
        a.last_seed.triggered.connect(self.prompt.reuse_last_seed)
        a.manage_models.triggered.connect(self.open_models)
        a.add_model_file.triggered.connect(lambda: self.files.add_model_dialog(folder=False))
        a.add_model_folder.triggered.connect(lambda: self.files.add_model_dialog(folder=True))
        a.shortcuts.triggered.connect(lambda: show_shortcuts(self))
        a.about.triggered.connect(lambda: show_about(self))
        a.open_logs.triggered.connect(open_log_folder)

        self.view.files_dropped.connect(lambda paths: self.files.open_path(paths[0]) if paths else None)
        self.view.image_dropped.connect(self.files.open_qimage)
        self.welcome.open_models.connect(self.open_models)
        self.welcome.add_model_file.connect(lambda: self.files.add_model_dialog(folder=False))
        self.prompt_panel.manage_models_requested.connect(self.open_models)

        c.mode_changed.connect(self.prompt_panel.set_mode)
        c.frame_changed.connect(self._frame_to_prompt)
        c.changed.connect(self.document_changed)
        c.changed.connect(self._update_central)
        c.title_changed.connect(self._update_title)
        c.undo_stack.cleanChanged.connect(self._update_title)
        self.prompt.changed.connect(self._prompt_to_canvas)
        self.prompt.changed.connect(lambda _v: self.document_changed.emit())
        self.prompt.changed.connect(lambda v: self.view.set_feather(v.mask_feather))
        self.prompt.changed.connect(lambda v: self.status.set_model(self._model_name(v.model)))
        self.candidates.changed.connect(self._show_candidate)
        self.candidates.changed.connect(self._update_candidate_actions)
        self.models.changed.connect(self._refresh_models)

        q.job_started.connect(self._on_job_started)
        q.progress.connect(self._on_progress)
        q.job_finished.connect(self._on_job_finished)
        q.job_failed.connect(self._on_job_failed)
        q.job_cancelled.connect(self._on_job_cancelled)
        q.queue_changed.connect(self._on_queue_changed)
        q.backend_status.connect(self._on_backend_status)
        if self.services.saver is not None:
            self.services.saver.save_failed.connect(self._on_save_failed)
        manager = self.services.model_manager
        if manager is not None:
            for name, slot in (
                ("download_progress", self._on_download_progress),
                ("download_finished", self._on_download_done),
                ("download_failed", self._on_download_failed),
            ):
                signal = getattr(manager, name, None)
                if signal is not None:
                    signal.connect(slot)
        self.view.set_feather(self.prompt.values.mask_feather)

    # ---- the document (autosave, projects) -------------------------------------------------------------
    def document(self) -> Document:
        """The canvas and prompt settings as plain data."""
        return self.canvas.to_document(self.prompt.values.to_dict())

    def load_document(self, doc: Document) -> None:
        """Show ``doc``: canvas, mask, frame and prompt settings; the undo history starts afresh."""
        self.candidates.clear()
        self.canvas.load_document(doc)
        if doc.prompt:
            values = PromptValues.from_dict({**self.prompt.values.to_dict(), **doc.prompt})
            self.prompt.set_values(values)
        self._frame_to_prompt(self.canvas.frame)
        self.view.zoom_fit()
        self._update_central()

    @property
    def modified(self) -> bool:
        return not self.canvas.undo_stack.isClean()

    def has_work(self) -> bool:
        """Whether the canvas holds anything worth recovering after a crash."""
        return self.canvas.image is not None or self.canvas.has_mask()

    def handle_second_launch(self, args: list[str]) -> None:
        """Another ``desktop-sd`` was started: come to the front and open what it was given."""
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()
        for arg in args:
            if not arg.startswith("-") and Path(arg).exists():
                self.files.open_path(arg)

    # ---- generating ------------------------------------------------------------------------------------
    def generate(self) -> int | None:
        """Queue a job from the prompt panel and the canvas; returns its id (None when refused)."""
        values = self.prompt.values
        if not values.model:
            self._update_central(force_welcome=not self.models.items())
            self.show_message(
                "Choose a model first: install one from Models > Manage models, or use a model file you have.",
                Level.WARNING,
                [("Get a model…", self.open_models)],
            )
            return None
        request = self.canvas.request_for(values.to_request())
        try:
            request, notices = check_request(request)
        except InputError as exc:
            self.show_message(str(exc), Level.ERROR)
            return None
        for notice in notices:
            self.show_message(notice, Level.INFO)
        job_id = self.queue.submit(request)
        self._job_frames[job_id] = self.canvas.frame
        if request.mode is Mode.INPAINT:
            self._job_clips[job_id] = self.canvas.feathered_mask(self.canvas.frame, request.mask_feather)
        return job_id

    def cancel(self) -> None:
        self.queue.cancel()

    def apply_candidate(self) -> None:
        current = self.candidates.current()
        if current is not None and self.candidates.apply(self.canvas):
            self.status.showMessage("Applied to the canvas (Ctrl+Z undoes it)", 4000)
            self.result_applied.emit()

    def reuse_parameters(self, request: GenerationRequest) -> None:
        self.prompt.set_values(PromptValues.from_request(request, self.prompt.values))
        self.status.showMessage("Settings taken from the image", 4000)

    def reuse_seed(self, seed: int) -> None:
        self.prompt.update(seed=int(seed), random_seed=False)

    def _on_job_started(self, job_id: int) -> None:
        job = self.queue.job(job_id)
        total = job.request.steps if job is not None else 0
        self.view.show_progress(self._job_frames.get(job_id, self.canvas.frame), 0, total, QImage())
        self.status.set_busy("Starting…" if self._loaded_model else "Loading the model…")
        self.actions_.cancel.setEnabled(True)

    def _on_progress(self, job_id: int, step: int, total: int, preview: QImage) -> None:
        self._loaded_model = True
        frame = self._job_frames.get(job_id, self.canvas.frame)
        self.view.show_progress(frame, step, total, preview, self._job_clips.get(job_id))
        self.status.set_progress(step, total)

    def _on_job_finished(self, job_id: int, result: GenerationResult) -> None:
        self._loaded_model = True
        frame = self._job_frames.pop(job_id, self.canvas.frame)
        if self.services.saver is not None:
            self.services.saver.save(job_id, result)
        if result.seeds:
            self.prompt.set_last_seed(result.seeds[0])
        for notice in result.notices:
            self.show_message(notice, Level.INFO)
        self.status.showMessage(f"Done in {result.elapsed_s:.1f} s", 5000)
        self.candidates.add_result(result, frame)
        self._job_ended()

    def _on_job_failed(self, job_id: int, message: str) -> None:
        self._job_frames.pop(job_id, None)
        self.show_message(message, Level.ERROR)
        self._job_ended()

    def _on_job_cancelled(self, job_id: int) -> None:
        self._job_frames.pop(job_id, None)
        self.status.showMessage("Cancelled", 3000)
        self._job_ended()

    def _job_ended(self) -> None:
        live = {job.id for job in self.queue.jobs()}
        self._job_clips = {k: v for k, v in self._job_clips.items() if k in live}
        if self.queue.running() is None:
            self.actions_.cancel.setEnabled(False)
            self.status.clear_progress()
            self._show_candidate()

    def _on_queue_changed(self) -> None:
        self.status.set_queue(len(self.queue.pending()))
        self.actions_.cancel.setEnabled(self.queue.running() is not None)

    def _on_backend_status(self, status: BackendStatus) -> None:
        self.status.set_backend(status)

    def _on_save_failed(self, _job_id: int, message: str) -> None:
        saver = self.services.saver
        count = saver.unsaved_count() if saver is not None else 0
        actions = [("Retry", saver.retry)] if saver is not None else []
        if self.services.switch_library is not None:
            actions.append(("Choose folder…", self.files.choose_library_folder))
        self.show_message(
            f"Could not save {count} image(s) to the history: {message} They are kept in memory "
            "until saved: retry, or choose another folder.",
            Level.ERROR,
            actions,
        )

    # ---- candidates ---------------------------------------------------------------------------------------
    def _show_candidate(self) -> None:
        if self.queue.running() is not None:
            return
        current = self.candidates.current()
        if current is None:
            self.view.clear_preview()
            return
        seed = f"  ·  seed {current.request.seed}" if current.request is not None else ""  # None: an image sent as init
        caption = f"Candidate {self.candidates.index + 1} of {len(self.candidates)}{seed}"
        self.view.show_candidate(current.frame, current.image, caption)

    def _update_candidate_actions(self) -> None:
        has = len(self.candidates) > 0
        for action in self.actions_.candidate_actions():
            action.setEnabled(has)
        several = len(self.candidates) > 1
        self.actions_.previous.setEnabled(several)
        self.actions_.next.setEnabled(several)

    # ---- models --------------------------------------------------------------------------------------
    def open_models(self) -> None:
        if self.services.open_models_dialog is not None:
            self.services.open_models_dialog(self)
        else:
            self.show_message(
                "The model manager is not available in this build. Use a model file or folder you have instead.",
                Level.INFO,
                [("Use a model file…", lambda: self.files.add_model_dialog(folder=False))],
            )

    def _refresh_models(self) -> None:
        choices = self.models.items()
        self.prompt_panel.set_models(choices)
        ids = [c.id for c in choices]
        if self.prompt.values.model not in ids:
            self.prompt.update(model=self.models.default_id() if choices else "")
        self.status.set_model(self._model_name(self.prompt.values.model))
        self._update_central()

    def _model_name(self, model_id: str) -> str:
        choice = self.models.find(model_id) if model_id else None
        return choice.name if choice is not None else model_id

    def _on_download_progress(self, model_id: str, done: int, total: int, bytes_per_s: float) -> None:
        self.status.set_download(self._model_name(model_id) or model_id, done, total, bytes_per_s)

    def _on_download_done(self, model_id: str) -> None:
        self.status.clear_download()
        self.status.showMessage(f"{self._model_name(model_id)} is installed", 5000)

    def _on_download_failed(self, model_id: str, message: str) -> None:
        self.status.clear_download()
        self.show_message(f"Download of {model_id} failed: {message}", Level.ERROR, [("Models…", self.open_models)])

    # ---- canvas <-> prompt panel ------------------------------------------------------------------------
    def _frame_to_prompt(self, frame: QRect) -> None:
        self.prompt.update(width=frame.width(), height=frame.height())

    def _prompt_to_canvas(self, values: PromptValues) -> None:
        frame = self.canvas.frame
        if (values.width, values.height) != (frame.width(), frame.height()):
            self.canvas.set_frame_size(values.width, values.height)

    def _update_central(self, force_welcome: bool = False) -> None:
        pristine = self.canvas.image is None and self.canvas.undo_stack.count() == 0
        welcome = force_welcome or (not self.models.items() and pristine)
        self.stack.setCurrentWidget(self.welcome if welcome else self.view)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.canvas.title}[*] — {APP_TITLE}")
        self.setWindowModified(self.modified)

    # ---- messages and help ------------------------------------------------------------------------------
    def show_message(
        self, text: str, level: Level | str = Level.INFO, actions: list[tuple[str, Callable[[], None]]] | None = None
    ) -> None:
        """A non-blocking message above the canvas."""
        self.messages.show_message(text, level, actions)

    # ---- settings and closing ------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        for path in s.get("models.extra", []) or []:
            try:
                self.models.add_path(path)
            except Exception:  # a model moved or deleted since: just not offered any more
                continue
        geometry, state = s.get("window.geometry"), s.get("window.state")
        if isinstance(geometry, str):
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii")))
        if isinstance(state, str):
            self.restoreState(QByteArray.fromBase64(state.encode("ascii")), LAYOUT_VERSION)
        size = s.get("canvas.brush_size")
        if isinstance(size, int):
            self.brush_size.setValue(size)
        hardness = s.get("canvas.hardness")
        if isinstance(hardness, (int, float)):
            self.hardness.setValue(round(float(hardness) * 100))
        values = self.prompt.values
        self.canvas.set_frame_size(values.width, values.height)
        self.canvas.undo_stack.clear()

    def save_settings(self) -> None:
        s = self.settings
        s.set("window.geometry", bytes(self.saveGeometry().toBase64().data()).decode("ascii"))
        s.set("window.state", bytes(self.saveState(LAYOUT_VERSION).toBase64().data()).decode("ascii"))
        s.set("prompt", self.prompt.values.to_dict())
        s.set("models.extra", self.models.extra_paths())
        s.set("canvas.brush_size", self.brush_size.value())
        s.set("canvas.hardness", self.hardness.value() / 100)
        try:
            s.save()
        except OSError as exc:
            self.show_message(f"Settings could not be saved ({exc}).", Level.WARNING)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.confirm_unsaved_results():
            event.ignore()
            return
        self.save_settings()
        if self.queue.running() is not None:
            self.status.showMessage("Stopping the running job…")
        self.hide()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Cancel jobs, join the worker threads, close what the services opened. Safe to call twice."""
        self.queue.shutdown()
        if self.services.saver is not None:
            self.services.saver.shutdown()
        if self.services.history is not None and shiboken6.isValid(self.history_dock):
            # The gallery reads the library until it is gone: delete it before the library closes.
            self.removeDockWidget(self.history_dock)
            shiboken6.delete(self.history_dock)
        closers, self.services.closers = self.services.closers, []
        for close in reversed(closers):
            try:
                close()
            except Exception:
                log.exception("closing %s failed", close)
