"""The window's ComfyUI servers: which ones jobs may use, their state, and their checkpoints.

``ServerMonitor`` builds a ``ComfyBackend`` for each server in the settings
that the privacy rules allow (offline mode blocks other machines unless the
user allows them for the session), hands them to the window's
``MixedBackend``, and asks each server, off the GUI thread, every few seconds
how busy it is (the pool's backoff spaces out calls to an unreachable one).
Checkpoints of a server are fetched when it is first reached and then offered
in the model picker.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from desktop_sd.app.model_choices import ModelChoices
from desktop_sd.core.errors import ServerError
from desktop_sd.core.settings import Settings
from desktop_sd.remote import servers
from desktop_sd.remote.backend import ComfyBackend
from desktop_sd.remote.mixed import MixedBackend, parse_server_model
from desktop_sd.remote.pool import MemberState, State

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 5000


class ServerMonitor(QObject):
    states_changed = Signal(object)  # list[MemberState], the local engine first
    warning = Signal(str)  # plain http to another machine (once per URL)
    blocked = Signal(object)  # list of server names offline mode keeps out (empty: none)
    _polled = Signal(object, object)  # states, {server: checkpoints} fetched this time

    def __init__(
        self,
        settings: Settings,
        backend: MixedBackend,
        models: ModelChoices,
        is_offline: Callable[[], bool],
        poll_interval_ms: int = POLL_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.backend = backend
        self.models = models
        self._is_offline = is_offline
        self._allowed: set[str] = set()  # servers the user allowed in offline mode, this session
        self._http = servers.PlainHttpWarnings()
        self._with_models: set[str] = set()  # servers whose checkpoints are offered
        self._placeholders: set[str] = set()  # of those, servers whose list has not arrived yet
        self._polling = False
        self._closed = False
        self.states: list[MemberState] = []
        self._timer = QTimer(self)
        self._timer.setInterval(poll_interval_ms)
        self._timer.timeout.connect(self.poll)
        self._polled.connect(self._on_polled)
        self._offer_remembered()

    def _offer_remembered(self) -> None:
        """Offer the server checkpoint the prompt settings remember until the server's list arrives, so the
        picker keeps it at start-up instead of falling back to a local model."""
        model = self.settings.prompt.get("model") if isinstance(self.settings.prompt, dict) else None
        remembered = parse_server_model(model) if isinstance(model, str) else None
        if remembered is not None and remembered[0] in self.settings.servers:
            self._with_models.add(remembered[0])
            self._placeholders.add(remembered[0])
            self.models.set_server_models(remembered[0], [remembered[1]])

    def start(self) -> None:
        """Use the servers in the settings and watch them (only when there are any)."""
        self.reload()

    def stop(self) -> None:
        self._closed = True
        self._timer.stop()

    @property
    def polling(self) -> bool:
        """A poll is under way (``states_changed`` follows if anything changed)."""
        return self._polling

    def http_warning(self, url: str) -> str | None:
        """The plain-http warning for ``url`` the first time it is asked for in this session, else None."""
        return self._http.warning(url)

    def is_offline(self) -> bool:
        return self._is_offline()

    def allowed(self, name: str) -> bool:
        """Whether the user allowed ``name`` in offline mode for this session."""
        return name in self._allowed

    def allow_offline(self, names: list[str]) -> None:
        """Let jobs use these servers in offline mode for the rest of the session."""
        self._allowed.update(names)
        self.reload()

    def reload(self) -> None:
        """Apply the settings' server list (after the Servers dialog changed it)."""
        offline = self._is_offline()
        usable: list[ComfyBackend] = []
        blocked: list[str] = []
        for entry in servers.server_entries(self.settings):
            try:
                servers.check_allowed(entry.url, offline, entry.name in self._allowed)
            except ServerError:
                blocked.append(entry.name)
                continue
            warning = self._http.warning(entry.url)
            if warning:
                self.warning.emit(warning)
            usable.append(ComfyBackend(entry.client(timeout_s=10.0)))
        self.backend.set_servers(usable)
        names = {b.name for b in usable}
        for gone in self._with_models - names:
            self.models.set_server_models(gone, [])
        self._with_models &= names
        self._placeholders &= names
        self.blocked.emit(blocked)
        if usable and not self._closed:
            self._timer.start()
            self.poll()
        else:
            self._timer.stop()
            self.states = []
            self.states_changed.emit([])

    def poll(self) -> None:
        """Ask the servers for their state on a thread; ``states_changed`` follows."""
        if self._polling or self._closed:
            return
        self._polling = True
        known = self._with_models - self._placeholders
        threading.Thread(target=self._poll, args=(known,), name="server-poll", daemon=True).start()

    def _poll(self, known: set[str]) -> None:
        checkpoints: dict[str, list[str]] = {}
        try:
            states = self.backend.states()
            reachable = {s.name for s in states if s.state is not State.UNREACHABLE}
            for server in self.backend.servers():
                if server.name in reachable and server.name not in known:
                    try:
                        checkpoints[server.name] = server.checkpoints(refresh=True)
                    except ServerError as exc:
                        log.info("checkpoints of %s: %s", server.name, exc)
        except Exception:  # a poll must never take the window down; the next one tries again
            log.exception("polling the servers failed")
            states = []
        with contextlib.suppress(RuntimeError):  # the window closed meanwhile
            self._polled.emit(states, checkpoints)

    def _on_polled(self, states: list[MemberState], checkpoints: dict[str, list[str]]) -> None:
        self._polling = False
        if self._closed:
            return
        current = {b.name for b in self.backend.servers()}
        for name, names in checkpoints.items():
            if name in current:
                self._with_models.add(name)
                self._placeholders.discard(name)
                self.models.set_server_models(name, names)
        states = [s for i, s in enumerate(states) if i == 0 or s.name in current]  # 0: the local engine
        if states != self.states:
            self.states = states
            self.states_changed.emit(states)
