"""Start-up wiring of the GUI: the one place that builds the services and hands the engine to the worker.

Torch is not imported here: once the window has painted, the worker thread
imports it (the engine's warm-up), and makes the engine on its first job.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop_sd.app import crash
from desktop_sd.app.autosave import Autosave, default_folder
from desktop_sd.app.file_open_events import FileOpenEvents
from desktop_sd.app.first_paint import after_first_paint
from desktop_sd.app.history import History
from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.messages import Level
from desktop_sd.app.model_choices import ModelChoices
from desktop_sd.app.model_manager import ModelManager
from desktop_sd.app.servers import ServerMonitor
from desktop_sd.app.single_instance import SingleInstance
from desktop_sd.app.tokens import TokenCounter
from desktop_sd.cli.local_engine import LocalEngineFactory
from desktop_sd.cli.speed_args import speed_options_from
from desktop_sd.core import paths
from desktop_sd.core.backend import Backend
from desktop_sd.core.settings import Settings
from desktop_sd.models.network import is_offline
from desktop_sd.models.registry import Registry
from desktop_sd.remote.mixed import MixedBackend
from desktop_sd.ui.crash_dialog import show_crash_dialog
from desktop_sd.ui.main_window import MainWindow, WindowServices
from desktop_sd.ui.models_dialog import ModelsDialog
from desktop_sd.ui.recovery_dialog import ask_recovery
from desktop_sd.ui.theme import apply_theme

log = logging.getLogger(__name__)


# Used on the worker thread: its warm-up imports torch once the window shows; calling it makes the engine, on
# the first job, with the speed settings read then (a change in the Speed menu applies from the next start).
engine_factory: Callable[[], Backend] = LocalEngineFactory(speed=lambda: speed_options_from(Settings.load()))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="desktop-sd", description="Open the Desktop SD window.")
    parser.add_argument("files", nargs="*", help="images or .sdproj projects to open")
    parser.add_argument("--model", action="append", default=[], help="a model folder or .safetensors file to offer")
    parser.add_argument("--library", help="history folder (default: the user's library folder)")
    return parser.parse_args(argv)


def build_window(
    argv: list[str], backend_factory: Callable[[], Backend] | None = None, settings: Settings | None = None
) -> tuple[QApplication, MainWindow]:
    """Build the services and the window without showing it or running the event loop.

    ``settings``: as ``cli.main`` read them (their notice is shown); read here when not given.
    """
    args = parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "desktop-sd"])
    assert isinstance(app, QApplication)
    app.setApplicationName("Desktop SD")
    app.setOrganizationName("desktop-sd")
    app.setDesktopFileName("desktop-sd")
    icon = paths.resources_dir() / "icons" / "app" / "desktop-sd-256.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))

    settings = settings if settings is not None else Settings.load()
    start_notices: list[str] = []  # a damaged models registry repaired while the window is built
    registry = Registry(on_notice=start_notices.append)
    apply_theme(app, settings.theme)
    manager = ModelManager(registry, settings=settings)  # one Settings object, so neither overwrites the other
    history, library_error = History.open(Path(args.library) if args.library else None)
    # The local engine and the user's ComfyUI servers, as one pool (the engine is made on its first job).
    backend = MixedBackend(backend_factory or engine_factory)
    models = ModelChoices(manager)
    services = WindowServices(
        settings=settings,
        queue=JobQueue(lambda: backend),
        models=models,
        tokens=TokenCounter(),
        history=history,
        model_manager=manager,
        open_models_dialog=_models_dialog_opener(manager),
        servers=ServerMonitor(settings, backend, models, lambda: is_offline(settings)),
        addons=manager.addons,
    )
    window = MainWindow(services)
    manager.default_changed.connect(lambda model_id: window.prompt.update(model=model_id))
    _report_history_problems(window, history, library_error)
    for notice in start_notices:
        window.show_message(notice, Level.WARNING)
    manager.settings_not_saved.connect(lambda text: window.show_message(text, Level.WARNING))
    for model in args.model:
        window.files.add_model(model)
    for path in args.files:
        window.files.open_path(path)
    return app, window


def _report_history_problems(window: MainWindow, history: History, library_error: str) -> None:
    """Show why the history is unavailable or damaged, with the way out (rebuild it, or choose a folder)."""
    rebuild = ("Rebuild history", history.rebuild_in_background)
    if library_error:
        actions = [rebuild] if history.damaged_folder is not None else []
        window.show_message(
            f"The history is not available: {library_error} New images are kept in memory until it is.",
            Level.ERROR,
            [*actions, ("Choose folder…", window.files.choose_library_folder)],
        )
    history.damaged.connect(lambda text: window.show_message(text, Level.ERROR, [rebuild]))
    history.rebuild_finished.connect(lambda text: window.show_message(text, Level.INFO))


def _models_dialog_opener(manager: ModelManager) -> Callable[[QWidget], None]:
    def open_dialog(parent: QWidget) -> None:
        dialog = parent.findChild(ModelsDialog)
        if dialog is None:
            dialog = ModelsDialog(manager, parent)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    return open_dialog


def show_start_error(text: str) -> None:
    """Say why the window cannot open, in a dialog (started from a desktop, nobody reads stderr)."""
    _app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "desktop-sd"])
    QMessageBox.critical(None, "Desktop SD cannot start", text)


def run_gui(argv: list[str], settings: Settings | None = None) -> int:
    """``desktop-sd`` with no command: show the window and run until it closes."""
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "desktop-sd"])
    reporter = crash.install(paths.log_dir())
    instance = SingleInstance()
    if not instance.try_become_primary():
        # Only the files travel: the running window opens them; its other options stay as they are.
        if instance.send_to_primary(parse_args(argv).files):
            return 0
        if not _replace_stuck_instance(instance):
            return 1

    app, window = build_window(argv, settings=settings)
    instance.message_received.connect(window.files.handle_second_launch)
    file_events = FileOpenEvents(window)
    file_events.file_opened.connect(lambda path: window.files.handle_second_launch([path]))
    app.installEventFilter(file_events)
    autosave = _start_autosave(window)
    ending = _EndOnSignal(window, autosave)
    reporter.crashed.connect(
        lambda summary, log_file: _on_crash(window, autosave, summary, log_file, reporter.last_details())
    )
    after_first_paint(window, window.queue.warm_up)  # the engine's imports, while the user types
    window.show()
    if reporter.previous_native_crash is not None:
        window.show_message(
            f"Desktop SD crashed last time. What it was doing is in {reporter.previous_native_crash}.",
            Level.WARNING,
        )
    window.services.tokens.load_in_background()
    if window.services.history is not None:
        window.services.history.reconcile_in_background()
    _offer_recovery(window, autosave)
    code = 1
    try:
        code = int(app.exec())
    finally:
        window.shutdown()
        if not ending.keep_snapshot:
            autosave.discard()
        instance.release()
    if window.queue.abandoned:
        # A step that could not be interrupted is still running on the worker thread. Everything worth
        # keeping is saved by now; end the process instead of waiting minutes for it.
        logging.shutdown()
        os._exit(code)
    return code


class _EndOnSignal:
    """SIGTERM (logout, shutdown, ``kill``): keep the canvas for recovery and quit without asking.

    Python runs signal handlers only between bytecodes, so a timer wakes it
    while Qt waits for events.
    """

    def __init__(self, window: MainWindow, autosave: Autosave) -> None:
        self.keep_snapshot = False
        self._window = window
        self._autosave = autosave
        self._wake = QTimer(window)
        self._wake.timeout.connect(lambda: None)
        self._wake.start(250)
        with contextlib.suppress(ValueError, OSError):  # not the main thread, or no such signal here
            signal.signal(signal.SIGTERM, lambda _signum, _frame: QTimer.singleShot(0, self._end))

    def _end(self) -> None:
        window = self._window
        log.info("Asked to end (SIGTERM): keeping the canvas for recovery and quitting")
        if not window.canvas.undo_stack.isClean() and window.canvas.has_work():
            self._autosave.snapshot_now()
            self.keep_snapshot = self._autosave.wait_idle(2.0)
        window.save_settings()
        window.quit_without_asking()


def _replace_stuck_instance(instance: SingleInstance) -> bool:
    """Another instance holds the lock but does not answer: say so, and end it if the user agrees."""
    pid = instance.owner_pid()
    answer = QMessageBox.question(
        None,
        "Desktop SD is not responding",
        f"Desktop SD is already running{f' (process {pid})' if pid else ''} but does not answer.\n\n"
        "End it and open a new window? Canvas work it had not saved is offered back when the new window opens.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
    )
    if answer != QMessageBox.StandardButton.Yes:
        return False
    if not instance.end_owner() or not instance.try_become_primary():
        QMessageBox.warning(
            None,
            "Desktop SD is not responding",
            f"The running Desktop SD{f' (process {pid})' if pid else ''} could not be ended. "
            "End it from the system's task manager, then start Desktop SD again.",
        )
        return False
    return True


def _start_autosave(window: MainWindow) -> Autosave:
    autosave = Autosave(
        lambda: window.generation.document() if window.canvas.has_work() else None, default_folder()
    )
    window.document_changed.connect(autosave.mark_dirty)
    window.result_applied.connect(autosave.snapshot_now)
    autosave.snapshot_failed.connect(lambda message: window.status.showMessage(message, 8000))
    autosave.start()
    return autosave


def _offer_recovery(window: MainWindow, autosave: Autosave) -> None:
    doc = autosave.pending_recovery()
    if doc is None:
        return
    if ask_recovery(window, doc, autosave.recovered_at):
        window.load_document(doc)
        window.canvas.undo_stack.resetClean()  # recovered work is not saved anywhere yet
    else:
        autosave.discard()
        autosave.start()


def _on_crash(window: MainWindow, autosave: Autosave | None, summary: str, log_file: str, details: str = "") -> None:
    if autosave is not None:
        autosave.snapshot_now()
    show_crash_dialog(window, summary, log_file, details)
