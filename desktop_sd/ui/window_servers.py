"""The window's side of the ComfyUI servers: the Servers dialog, their states in the status bar, and
the privacy messages (plain http to another machine; servers offline mode keeps out)."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow

from desktop_sd.app.messages import Level
from desktop_sd.app.servers import ServerMonitor
from desktop_sd.ui.message_area import MessageArea
from desktop_sd.ui.servers_dialog import ServersDialog
from desktop_sd.ui.status_bar import StatusBar

BLOCKED_KEY = "servers-offline"


class WindowServers:
    def __init__(
        self,
        window: QMainWindow,
        monitor: ServerMonitor | None,
        action: QAction,
        status: StatusBar,
        messages: MessageArea,
    ) -> None:
        self.window = window
        self.monitor = monitor
        self.messages = messages
        self.dialog: ServersDialog | None = None
        action.setEnabled(monitor is not None)
        if monitor is None:
            return
        action.triggered.connect(self.open_dialog)
        monitor.states_changed.connect(status.set_servers)
        monitor.warning.connect(lambda text: messages.show_message(text, Level.WARNING))
        monitor.blocked.connect(self._on_blocked)
        monitor.start()

    def open_dialog(self) -> ServersDialog | None:
        if self.monitor is None:
            return None
        if self.dialog is None:
            self.dialog = ServersDialog(self.monitor, self.window)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def stop(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()

    def _on_blocked(self, names: list[str]) -> None:
        self.messages.resolved(BLOCKED_KEY)
        if not names or self.monitor is None:
            return
        monitor = self.monitor
        self.messages.show_message(
            f"Offline mode is on: jobs do not go to {', '.join(names)} (on another machine).",
            Level.WARNING,
            [("Allow for this session", lambda: monitor.allow_offline(list(names)))],
            key=BLOCKED_KEY,
        )
