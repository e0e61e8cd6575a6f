"""The Servers dialog: the ComfyUI servers jobs can run on (add, remove, test a connection).

Names and URLs go to the settings file; a token goes to the system keyring
(``remote.servers``) and is never shown again, written to the settings or
logged. A test runs on a thread and says the server's ComfyUI version and
how many checkpoints it has.
"""

from __future__ import annotations

import contextlib
import threading

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_sd.app.servers import ServerMonitor
from desktop_sd.core.errors import ServerError
from desktop_sd.remote import servers
from desktop_sd.remote.servers import ServerEntry
from desktop_sd.ui.theme import show_focus

START_HINT = (
    "Start ComfyUI on the other machine with <code>python main.py --listen 0.0.0.0 --port 8188</code>, "
    "then add it here as <code>host:8188</code>."
)


class ServersDialog(QDialog):
    tested = Signal(str)  # the line shown after a test (version and checkpoints, or why it failed)
    _test_done = Signal(str)

    def __init__(self, monitor: ServerMonitor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ComfyUI servers")
        self.setMinimumWidth(520)  # room for "name — address" rows and the three buttons side by side
        self.monitor = monitor
        self.list = QListWidget()
        show_focus(self.list)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("gpu-box")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("192.168.1.20:8188 or https://host")
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("optional; kept in the system keyring")
        self.add_button = QPushButton("&Add")
        self.remove_button = QPushButton("&Remove")
        self.test_button = QPushButton("&Test connection")
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hint = QLabel(START_HINT)
        hint.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Address", self.url_edit)
        form.addRow("Token", self.token_edit)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.test_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.list)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.result_label)
        layout.addWidget(close)

        self.add_button.clicked.connect(self.add)
        self.remove_button.clicked.connect(self.remove)
        self.test_button.clicked.connect(self.test)
        self.list.currentItemChanged.connect(self._picked)
        self._test_done.connect(self._show_test)
        self._refresh()

    def entries(self) -> list[ServerEntry]:
        return servers.server_entries(self.monitor.settings)

    def add(self) -> None:
        """Add (or replace) the server typed in; the token goes to the keyring, the rest to the settings."""
        settings = self.monitor.settings
        try:
            entry = servers.add_server(settings, self.name_edit.text(), self.url_edit.text(), self.token_edit.text())
            settings.save()
        except (ServerError, OSError) as exc:
            self._say(f"Not added: {exc}")
            return
        self.token_edit.clear()
        warning = self.monitor.http_warning(entry.url)  # said here, so not again above the canvas
        self._say(f"Added {entry.name} ({entry.url})." + (f" Note: {warning}" if warning else ""))
        self._refresh(select=entry.name)
        self.monitor.reload()

    def remove(self) -> None:
        entry = self._current()
        if entry is None:
            self._say("Choose a server in the list first.")
            return
        settings = self.monitor.settings
        try:
            servers.remove_server(settings, entry.name)
            settings.save()
        except (ServerError, OSError) as exc:
            self._say(f"Not removed: {exc}")
            return
        self._say(f"Removed {entry.name} and its token.")
        self._refresh()
        self.monitor.reload()

    def test(self) -> None:
        """Connect to the chosen server (or the address typed in) on a thread; ``tested`` says how it went."""
        entry = self._current()
        if entry is None:
            try:
                url = servers.normalize_url(self.url_edit.text())
            except ServerError as exc:
                self._show_test(str(exc))
                return
            entry = ServerEntry(self.name_edit.text().strip() or url, url)
        try:
            servers.check_allowed(entry.url, self.monitor.is_offline(), self.monitor.allowed(entry.name))
        except ServerError as exc:
            self._show_test(str(exc))
            return
        token = self.token_edit.text() or servers.load_token(entry.name)
        self.test_button.setEnabled(False)
        self._say(f"Connecting to {entry.url}…")
        threading.Thread(target=self._test, args=(entry, token), name="server-test", daemon=True).start()

    def _test(self, entry: ServerEntry, token: str | None) -> None:
        from desktop_sd.remote.client import ComfyClient

        client = ComfyClient(entry.name, entry.url, token or None, timeout_s=10.0)
        try:
            version = client.version()
            count = len(client.checkpoints())
            text = f"{entry.name}: ComfyUI {version}, {count} checkpoint(s)."
        except ServerError as exc:
            text = f"{entry.name} failed the test: {exc}"
        with contextlib.suppress(RuntimeError):  # the dialog was closed and deleted meanwhile
            self._test_done.emit(text)

    def _show_test(self, text: str) -> None:
        self.test_button.setEnabled(True)
        self._say(text)
        self.tested.emit(text)

    def _say(self, text: str) -> None:
        self.result_label.setText(text)

    def _current(self) -> ServerEntry | None:
        item = self.list.currentItem()
        if item is None:
            return None
        name = item.data(Qt.ItemDataRole.UserRole)
        return next((e for e in self.entries() if e.name == name), None)

    def _picked(self, item: QListWidgetItem | None) -> None:
        entry = self._current() if item is not None else None
        if entry is not None:
            self.name_edit.setText(entry.name)
            self.url_edit.setText(entry.url)
            self.token_edit.clear()

    def _refresh(self, select: str | None = None) -> None:
        self.list.clear()
        for entry in self.entries():
            token = " (token in keyring)" if servers.load_token(entry.name) else ""
            item = QListWidgetItem(f"{entry.name} — {entry.url}{token}")
            item.setData(Qt.ItemDataRole.UserRole, entry.name)
            self.list.addItem(item)
            if entry.name == select:
                self.list.setCurrentItem(item)
        self.remove_button.setEnabled(bool(self.entries()))
