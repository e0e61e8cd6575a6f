"""Crash reporting: every unexpected exception is logged with its traceback and reported, and the app goes on.

``install(log_dir)`` sets up the app's logging (one rotating file handler on the
root logger) and routes three kinds of failure to it:

- exceptions nobody caught on the main thread, including those raised in Qt slots
  and virtual overrides (PySide6 hands those to ``sys.excepthook``);
- exceptions that end a ``threading.Thread`` or escape a worker ``QThread``'s code
  (``threading.excepthook``);
- native crashes (segfault, abort): ``faulthandler`` writes every thread's Python
  stack to ``native-crash.log`` in the same folder. That file is moved aside at
  the next start, so the app can tell the user the last session crashed.

Qt's own warnings go to the same log. The returned ``CrashReporter`` emits
``crashed(summary, log_path)`` (from whichever thread failed; connect with the
default connection so the slot runs on the receiver's thread) for the UI to show
``ui.crash_dialog`` and to snapshot the canvas.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import logging.handlers
import os
import platform
import sys
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from PySide6.QtCore import QObject, QtMsgType, Signal, qInstallMessageHandler, qVersion

import desktop_sd
from desktop_sd.core import paths

LOG_NAME = "desktop-sd.log"
NATIVE_LOG_NAME = "native-crash.log"
PREVIOUS_NATIVE_LOG_NAME = "native-crash.previous.log"
MAX_LOG_BYTES = 2 * 1024 * 1024
LOG_BACKUPS = 3
REPEAT_QUIET_S = 10.0  # the same error again within this time is logged but not reported again

log = logging.getLogger(__name__)

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}

_installed: CrashReporter | None = None

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class CrashReporter(QObject):
    """Owns the hooks ``install`` set; ``uninstall()`` puts the previous ones back."""

    crashed = Signal(str, str)  # one-line summary, path of the log holding the traceback

    def __init__(self, log_dir: Path) -> None:
        super().__init__()
        self._log_dir = Path(log_dir)
        self._log_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._last_details = ""
        self._recent: dict[str, float] = {}
        self._handler: logging.Handler | None = None
        self._previous_root_level = logging.NOTSET
        self._native_file: IO[str] | None = None
        self._faulthandler_was_enabled = False
        self._previous_excepthook: Any = None
        self._previous_threading_hook: Any = None
        self._previous_qt_handler: Any = None
        self.previous_native_crash: Path | None = None
        """The native-crash log of the previous session, if it crashed natively; None otherwise."""

    # ---- public -----------------------------------------------------------------------

    def log_path(self) -> Path:
        """The current log file (Help → Open log folder opens its parent)."""
        return self._log_dir / LOG_NAME

    def native_log_path(self) -> Path:
        return self._log_dir / NATIVE_LOG_NAME

    def last_details(self) -> str:
        """The full traceback text of the most recent report, for the dialog's Copy button."""
        return self._last_details

    def report(self, exc_info: ExcInfo, where: str) -> None:
        """Log ``exc_info`` with its traceback and emit ``crashed`` (quietly for a repeat)."""
        exc_type, exc, tb = exc_info
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        summary = f"{exc_type.__name__}: {exc}".strip().rstrip(":").splitlines()[0][:300]
        logging.getLogger("desktop_sd.crash").error("Unhandled exception in %s\n%s", where, details.rstrip())
        now = time.monotonic()
        with self._lock:
            self._last_details = details
            repeated = now - self._recent.get(summary, -REPEAT_QUIET_S) < REPEAT_QUIET_S
            self._recent[summary] = now
        if repeated:
            return
        with contextlib.suppress(RuntimeError):  # the Qt side is already gone (interpreter shutdown)
            self.crashed.emit(summary, str(self.log_path()))

    def uninstall(self) -> None:
        """Restore the hooks that were there before and close the log files."""
        global _installed
        if sys.excepthook == self._excepthook:
            sys.excepthook = self._previous_excepthook or sys.__excepthook__
        if threading.excepthook == self._threading_hook:
            threading.excepthook = self._previous_threading_hook or threading.__excepthook__
        qInstallMessageHandler(self._previous_qt_handler)
        if self._native_file is not None:
            if self._faulthandler_was_enabled:
                faulthandler.enable(file=sys.__stderr__ or sys.stderr, all_threads=True)
            else:
                faulthandler.disable()
            self._native_file.close()
            self._native_file = None
        if self._handler is not None:
            root = logging.getLogger()
            root.removeHandler(self._handler)
            root.setLevel(self._previous_root_level)
            self._handler.close()
            self._handler = None
        if _installed is self:
            _installed = None

    # ---- setup ------------------------------------------------------------------------

    def _install(self) -> None:
        self._setup_logging()
        self._move_previous_native_crash()
        self._native_file = open(self.native_log_path(), "a", encoding="utf-8")  # noqa: SIM115 (open for the process)
        self._faulthandler_was_enabled = faulthandler.is_enabled()
        faulthandler.enable(file=self._native_file, all_threads=True)
        self._previous_excepthook = sys.excepthook
        sys.excepthook = self._excepthook
        self._previous_threading_hook = threading.excepthook
        threading.excepthook = self._threading_hook
        self._previous_qt_handler = qInstallMessageHandler(self._qt_message)
        log.info(
            "Desktop SD %s started (pid %d, Python %s, Qt %s, %s)",
            desktop_sd.__version__,
            os.getpid(),
            platform.python_version(),
            qVersion(),
            platform.platform(),
        )

    def _setup_logging(self) -> None:
        handler = logging.handlers.RotatingFileHandler(
            self.log_path(),
            maxBytes=MAX_LOG_BYTES,
            backupCount=LOG_BACKUPS,
            encoding="utf-8",
            errors="backslashreplace",
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        self._previous_root_level = root.level
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
        self._handler = handler

    def _move_previous_native_crash(self) -> None:
        native = self.native_log_path()
        with contextlib.suppress(OSError):
            if native.stat().st_size > 0:
                previous = self._log_dir / PREVIOUS_NATIVE_LOG_NAME
                os.replace(native, previous)
                self.previous_native_crash = previous
                log.warning("The previous session crashed natively; its stack is in %s", previous)

    # ---- hooks ------------------------------------------------------------------------

    def _excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            (self._previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)
            return
        try:
            self.report((exc_type, exc, tb), f"thread {threading.current_thread().name!r}")
        except Exception:  # a hook that raises loses the original error: print both instead
            sys.__excepthook__(exc_type, exc, tb)
            traceback.print_exc()

    def _threading_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        try:
            self.report((args.exc_type, args.exc_value, args.exc_traceback), f"thread {name!r}")
        except Exception:
            threading.__excepthook__(args)

    def _qt_message(self, kind: QtMsgType, context: Any, message: str) -> None:
        where = f" ({context.file}:{context.line})" if getattr(context, "file", None) else ""
        logging.getLogger("qt").log(_QT_LEVELS.get(kind, logging.WARNING), "%s%s", message, where)


def install(log_dir: Path | None = None) -> CrashReporter:
    """Log and report every unexpected exception; returns the reporter. Installing again replaces it."""
    global _installed
    if _installed is not None:
        _installed.uninstall()
    reporter = CrashReporter(log_dir if log_dir is not None else paths.log_dir())
    reporter._install()
    _installed = reporter
    return reporter


def log_path() -> Path:
    """The log file in use (or where it will be once ``install`` runs)."""
    if _installed is not None:
        return _installed.log_path()
    return paths.log_dir() / LOG_NAME
