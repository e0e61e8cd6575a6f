"""The main window: canvas in the centre, prompt panel, history and queue docks, menus, toolbar, status bar.

Layout and wiring only. A job's life (request, queue, progress, saving,
candidates) belongs to ``app.generation.GenerationController``; file commands
to ``window_files``; menus and the toolbar to ``window_menus``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolBar, QWidget

from desktop_sd.app.addon_list import AddonList
from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.app.generation import GenerationController
from desktop_sd.app.history import History
from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.messages import Level
from desktop_sd.app.model_choices import ModelChoices
from desktop_sd.app.model_manager import ModelManager
from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.app.servers import ServerMonitor
from desktop_sd.app.tokens import TokenCounter
from desktop_sd.core.document import Document
from desktop_sd.core.request import GenerationRequest
from desktop_sd.core.settings import Settings
from desktop_sd.models.addons import AddonKind
from desktop_sd.ui.actions import WindowActions
from desktop_sd.ui.canvas_area import CanvasArea
from desktop_sd.ui.prompt_panel import PromptPanel
from desktop_sd.ui.prompt_weights import bind_prompt_weights
from desktop_sd.ui.queue_panel import QueuePanel
from desktop_sd.ui.speed_menu import SpeedMenu
from desktop_sd.ui.status_bar import StatusBar
from desktop_sd.ui.theme import bind_theme_choice, set_action_icons
from desktop_sd.ui.window_files import WindowFiles
from desktop_sd.ui.window_history import WindowHistory
from desktop_sd.ui.window_layout import LAYOUT_VERSION, PanelsToggle, remember_layout, restore_layout
from desktop_sd.ui.window_menus import (
    APP_TITLE,
    build_menus,
    build_toolbar,
    open_log_folder,
    show_about,
    show_shortcuts,
)
from desktop_sd.ui.window_servers import WindowServers
from desktop_sd.ui.window_upscale import installed_upscalers

log = logging.getLogger(__name__)

QUIT_WAIT_MS = 3000  # how long quitting waits for a running job to stop before leaving it behind
Actions = list[tuple[str, Callable[[], None]]]


@dataclass
class WindowServices:
    """What the composition root hands the window."""

    settings: Settings
    queue: JobQueue
    models: ModelChoices
    tokens: TokenCounter
    history: History | None = None  # the history library with its saver and gallery
    model_manager: ModelManager | None = None
    open_models_dialog: Callable[[QWidget], None] | None = None
    servers: ServerMonitor | None = None  # the ComfyUI servers (None: this computer only)
    addons: AddonList | None = None  # installed LoRAs, embeddings and VAEs (the model manager's)


class MainWindow(QMainWindow):
    document_changed = Signal()
    result_applied = Signal()

    def __init__(self, services: WindowServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.settings = services.settings
        self.queue = services.queue
        self.models = services.models
        self.setObjectName("main-window")
        self._asking = True  # closing asks about unsaved work; not when the system ends the app
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.canvas = CanvasDocument(parent=self)
        self.prompt = PromptModel(PromptValues.from_dict(self.settings.prompt), self)
        saver = services.history.saver if services.history is not None else None
        self.generation = GenerationController(self.queue, self.canvas, self.prompt, saver, self)
        self.candidates = self.generation.candidates
        self.actions_ = WindowActions(self)
        a = self.actions_
        set_action_icons(a)
        self.area = CanvasArea(self.generation, a)
        self.setCentralWidget(self.area)
        self.view, self.welcome, self.messages = self.area.view, self.area.welcome, self.area.messages
        self.candidate_bar, self.stack = self.area.candidate_bar, self.area.stack
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.files = WindowFiles(self, self.generation, self.models, self.settings, services.history, self.messages,
                                 self.status, self._shown, services.model_manager)  # fmt: skip

        self.prompt_panel = PromptPanel(self.prompt, services.tokens, a.generate, a.cancel)
        self.addons = services.addons or AddonList(parent=self)
        self.addons.changed.connect(self._refresh_addons)
        self.prompt_dock = self._dock("Prompt", "prompt-dock", self.prompt_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.history = WindowHistory(self, services.history, self.generation, self.files, self.messages, self.reuse)
        self.queue_panel = QueuePanel(self.queue)
        self.queue_dock = self._dock("Queue", "queue-dock", self.queue_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tools = build_toolbar(self, a, self.settings.brush_size, self.settings.brush_hardness)
        panels: list[QDockWidget | QToolBar] = [self.prompt_dock, self.history_dock, self.queue_dock, self.tools.bar]
        self.menus = build_menus(self, a, self.canvas.undo_stack, panels)
        self.history.view_menu = self.menus.view
        self.speed_menu = SpeedMenu(self.menus.generate, self.settings) if self.menus.generate else None
        self._fit_screen()
        self.resizeDocks([self.prompt_dock, self.history_dock], [300, 300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.history_dock, self.queue_dock], [560, 140], Qt.Orientation.Vertical)
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._connect()
        self.servers = WindowServers(self, services.servers, a.servers, self.status, self.messages)
        self._restore_settings()
        self._refresh_models()
        self._update_title()
        if self.settings.notice:
            self.show_message(self.settings.notice, Level.WARNING)

    def _fit_screen(self) -> None:
        """1280×820, or the whole screen where it is smaller."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        size = QSize(1280, 820) if screen is None else QSize(1280, 820).boundedTo(screen.size())
        self.resize(size)

    history_dock = property(lambda self: self.history.dock)  # the History dock (it may be replaced)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _connect(self) -> None:
        a, c, g, f, v = self.actions_, self.canvas, self.generation, self.files, self.view
        for action, slot in (
            (a.new, f.new_canvas), (a.open, f.open_dialog), (a.save, f.save), (a.save_as, f.save_as),
            (a.export, f.export_dialog), (a.quit, self.close), (a.copy, f.copy_image), (a.paste, f.paste_image),
            (a.clear_mask, c.clear_mask), (a.invert_mask, c.invert_mask), (a.fill_mask, c.fill_mask),
            (a.generate, g.generate), (a.cancel, g.cancel),
            (a.apply, self.apply_candidate), (a.discard, self.candidates.discard),
            (a.last_seed, self.prompt.reuse_last_seed), (a.manage_models, self.open_models),
            (a.open_logs, open_log_folder), (a.import_images, lambda: self.history.import_dialog()),
        ):  # fmt: skip
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
        self.area.bind_tools(a, self.tools)
        g.estimate_changed.connect(self.prompt_panel.estimate_label.setText)
        self.prompt_panel.estimate_label.setText(g.estimate_text())
        a.reset_layout.triggered.connect(lambda: self.restoreState(self._default_state, LAYOUT_VERSION))
        bind_theme_choice(a.themes, self.settings, a)
        bind_prompt_weights(a.prompt_weights, self.settings, self.prompt, self.services.tokens)
        self._panels = PanelsToggle(lambda: [self.prompt_dock, self.history_dock, self.queue_dock, self.tools.bar])
        a.toggle_panels.toggled.connect(self._panels.set_hidden)
        a.upscale.triggered.connect(lambda: self.history.upscaling.ask_and_upscale_canvas(c))
        a.previous.triggered.connect(lambda: self.candidates.step(-1))
        a.next.triggered.connect(lambda: self.candidates.step(1))
        a.add_model_file.triggered.connect(lambda: f.add_model_dialog(folder=False))
        a.add_model_folder.triggered.connect(lambda: f.add_model_dialog(folder=True))
        a.shortcuts.triggered.connect(lambda: show_shortcuts(self))
        a.about.triggered.connect(lambda: show_about(self))
        v.files_dropped.connect(lambda paths: f.open_path(paths[0]) if paths else None)
        v.image_dropped.connect(f.open_qimage)
        self.welcome.open_models.connect(self.open_models)
        self.welcome.add_model_file.connect(lambda: f.add_model_dialog(folder=False))
        self.welcome.add_model_folder.connect(lambda: f.add_model_dialog(folder=True))
        self.prompt_panel.manage_models_requested.connect(self.open_models)
        self.prompt_panel.notice.connect(lambda text: self.show_message(text, Level.WARNING))
        self.prompt_panel.info.connect(lambda text: self.status.showMessage(text, 8000))

        c.mode_changed.connect(lambda mode: self.prompt_panel.set_mode(mode, c.mask_in_frame))
        c.changed.connect(self.document_changed)
        c.changed.connect(self._update_central)
        c.changed.connect(self._update_title)
        c.title_changed.connect(self._update_title)
        c.undo_stack.cleanChanged.connect(self._update_title)
        self.prompt.changed.connect(lambda _v: self.document_changed.emit())
        self.prompt.changed.connect(lambda values: v.set_feather(values.mask_feather))
        self.models.changed.connect(self._refresh_models)

        g.message.connect(lambda text, level: self.show_message(text, Level(level)))
        g.model_missing.connect(self._on_model_missing)
        g.confirm_long_job.connect(lambda text: self.messages.show_message(
            text, Level.WARNING, [("Generate anyway", lambda: g.generate(confirmed=True))], key="long-job"))
        g.result_applied.connect(self.result_applied)
        for signal in (g.job_started, g.job_cancelling, g.idle, self.queue.queue_changed):
            signal.connect(lambda *_args: a.cancel.setEnabled(g.can_cancel()))
        self.status.follow(g, self.models, self.services.model_manager)
        if self.services.model_manager is not None:
            self.services.model_manager.download_failed.connect(self._on_download_failed)
        v.set_feather(self.prompt.values.mask_feather)

    def load_document(self, doc: Document) -> None:
        """Show ``doc``: canvas, mask, frame and prompt settings (autosave recovery, tests)."""
        self.generation.load_document(doc)
        self._shown()

    def apply_candidate(self) -> None:
        if self.generation.apply_candidate():
            self.status.showMessage("Applied to the canvas (Ctrl+Z undoes it)", 4000)

    def reuse(self, request: GenerationRequest) -> None:
        notices = self.generation.reuse_parameters(request)
        self.status.showMessage("Settings taken from the image", 4000)
        if notices:
            self.show_message(" ".join(notices), Level.WARNING)

    def _on_model_missing(self) -> None:
        self._update_central(force_welcome=not self.models.items())
        text = "Choose a model first: install one from Models > Manage models, or use a model file you have."
        self.messages.show_message(text, Level.WARNING, [("Get a model…", self.open_models)], key="no-model")

    def open_models(self) -> None:
        if self.services.open_models_dialog is not None:
            self.services.open_models_dialog(self)
            return
        self.show_message(
            "The model manager is not available in this build. Use a model file or folder you have instead.",
            Level.INFO,
            [("Use a model file…", lambda: self.files.add_model_dialog(folder=False))],
        )

    def _refresh_addons(self) -> None:
        self.prompt_panel.set_addons(self.addons.items(AddonKind.LORA), self.addons.items(AddonKind.VAE))

    def _refresh_models(self) -> None:
        choices = self.models.items()
        self.prompt_panel.set_models(choices)
        self._refresh_addons()
        self.prompt_panel.hires_section.set_upscalers(installed_upscalers())
        if self.prompt.values.model not in [c.id for c in choices]:
            if choices:  # the first model installed, or the one in use removed: the default, at its settings
                self.prompt_panel.pick_model(self.models.default_id())
            else:
                self.prompt.update(model="")
        self.status.set_model(self.models.name_of(self.prompt.values.model))
        if choices:
            self.messages.resolved("no-model")
        self._update_central()

    def _on_download_failed(self, model_id: str, message: str) -> None:
        self.show_message(f"Download of {model_id} failed: {message}", Level.ERROR, [("Models…", self.open_models)])

    def _shown(self) -> None:
        """The canvas shows something new: fit it in the view, leave the welcome panel."""
        self.view.zoom_fit()
        self._update_central()

    def _update_central(self, force_welcome: bool = False) -> None:
        pristine = self.canvas.image is None and self.canvas.undo_stack.count() == 0
        self.area.show_welcome(force_welcome or (not self.models.items() and pristine))

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.canvas.title}[*] — {APP_TITLE}")
        # A fresh blank canvas is nothing to save, even though making it can be undone.
        self.setWindowModified(not self.canvas.undo_stack.isClean() and self.canvas.has_work())

    def show_message(self, text: str, level: Level | str = Level.INFO, actions: Actions | None = None) -> None:
        """A non-blocking message above the canvas."""
        self.messages.show_message(text, level, actions)

    # ---- settings and closing ------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        for path in s.extra_models:
            try:
                self.models.add_path(path)
            except Exception:  # a model moved or deleted since: just not offered any more
                continue
        restore_layout(self, s)
        self.canvas.set_frame_size(self.prompt.values.width, self.prompt.values.height)
        self.canvas.undo_stack.clear()

    def save_settings(self) -> None:
        s = self.settings
        remember_layout(self, s)
        s.prompt = self.prompt.values.to_dict()
        s.extra_models = self.models.extra_paths()
        s.brush_size = self.tools.brush_size.value()
        s.brush_hardness = self.tools.hardness.value() / 100
        try:
            s.save()
        except OSError as exc:
            self.show_message(f"Settings could not be saved ({exc}).", Level.WARNING)

    def quit_without_asking(self) -> None:
        """Close at once, asking nothing (the system is logging out or shutting down)."""
        self._asking = False
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._asking and not self.files.confirm_unsaved_results():
            event.ignore()
            return
        self.save_settings()
        if self.generation.is_running():
            self.status.showMessage("Stopping the running job…")
        self.hide()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Cancel jobs, join the worker threads, close the history and the model manager. Safe to call twice.

        A job that does not stop within ``QUIT_WAIT_MS`` is left behind (``queue.abandoned``): what it has
        made so far is gone, everything saved stays saved, and the caller ends the process.
        """
        self.servers.stop()
        self.queue.shutdown(QUIT_WAIT_MS)
        manager = self.services.model_manager
        for close in (self.history.close, manager.shutdown if manager is not None else None):
            try:
                if close is not None:
                    close()
            except Exception:
                log.exception("closing %s failed", close)
