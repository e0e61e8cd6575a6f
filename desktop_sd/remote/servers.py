"""The user's ComfyUI servers: names and URLs in the settings, tokens in the OS keyring, privacy checks.

Nothing is sent to a server the user did not add: a server is reached only
by its entry (or a URL given on the command line for that one run). Offline
mode blocks every non-loopback server unless the user allows it for the run;
plain http to another machine gets one warning per URL. Tokens live only in
the keyring, never in the settings file, a message or a log.
"""

from __future__ import annotations

import contextlib
import ipaddress
import urllib.parse
from dataclasses import dataclass

import keyring
import keyring.errors

from desktop_sd.core.errors import ServerError
from desktop_sd.core.settings import Settings
from desktop_sd.remote.client import ComfyClient

KEYRING_SERVICE = "desktop-sd"
DEFAULT_PORT = 8188  # ComfyUI's


@dataclass(frozen=True)
class ServerEntry:
    name: str
    url: str

    def client(self, timeout_s: float = 30.0) -> ComfyClient:
        """A client for this server, with its token from the keyring (if any)."""
        return ComfyClient(self.name, self.url, load_token(self.name), timeout_s)


def normalize_url(text: str) -> str:
    """``host[:port]`` or ``http(s)://host[:port][/path]`` as a URL (default port 8188); ``ServerError`` if not."""
    text = text.strip()
    if "://" not in text:
        text = f"http://{text}"
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerError(f"{text!r} is not a server address: give host:port or an http(s):// URL.")
    if parts.username or parts.password:
        raise ServerError("Put no user name or password in the URL: store a token with `servers add --token`.")
    try:
        port = parts.port
    except ValueError:
        raise ServerError(f"{text!r} has an invalid port.") from None
    netloc = parts.netloc if port is not None or parts.scheme == "https" else f"{parts.netloc}:{DEFAULT_PORT}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (``localhost``, 127.0.0.0/8, ``::1``); names are not resolved."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_allowed(url: str, offline: bool, allow_offline: bool = False) -> None:
    """Refuse a non-loopback server in offline mode, unless the user allowed it for this run."""
    if offline and not allow_offline and not is_loopback(url):
        raise ServerError(
            f"Offline mode is on: {url} is another machine. Turn offline mode off, or allow this server for the run."
        )


class PlainHttpWarnings:
    """Says once per URL that plain http to another machine sends prompts and images unencrypted."""

    def __init__(self) -> None:
        self._warned: set[str] = set()

    def warning(self, url: str) -> str | None:
        if urllib.parse.urlsplit(url).scheme != "http" or is_loopback(url) or url in self._warned:
            return None
        self._warned.add(url)
        return f"{url} uses plain http: prompts, images and the token travel unencrypted. Prefer https."


# ---- the list in the settings --------------------------------------------------------------


def server_entries(settings: Settings) -> list[ServerEntry]:
    """The servers in ``settings`` (entries that are not a name and a URL are left out)."""
    return [
        ServerEntry(name, url)
        for name, url in sorted(settings.servers.items())
        if isinstance(name, str) and isinstance(url, str) and name and url
    ]


def find_server(settings: Settings, name_or_url: str) -> ServerEntry:
    """The entry named ``name_or_url``; else, if it is a URL, an unnamed entry for it (this run only)."""
    for entry in server_entries(settings):
        if entry.name == name_or_url:
            return entry
    if "://" in name_or_url or ":" in name_or_url:
        url = normalize_url(name_or_url)
        for entry in server_entries(settings):
            if entry.url == url:
                return entry
        return ServerEntry(url, url)
    names = ", ".join(e.name for e in server_entries(settings)) or "none yet (`desktop-sd servers add NAME URL`)"
    raise ServerError(f"No server named {name_or_url!r}. Servers: {names}.")


def add_server(settings: Settings, name: str, url: str, token: str | None = None) -> ServerEntry:
    """Add (or replace) ``name``; the token goes to the keyring. The caller saves ``settings``."""
    name = name.strip()
    if not name or "/" in name:
        raise ServerError("A server name must be a short word (no slashes), not a URL or a path.")
    entry = ServerEntry(name, normalize_url(url))
    if token:
        store_token(name, token)
    servers = dict(settings.servers)
    servers[name] = entry.url
    settings.servers = servers
    return entry


def remove_server(settings: Settings, name: str) -> None:
    if name not in settings.servers:
        raise ServerError(f"No server named {name!r}.")
    servers = dict(settings.servers)
    del servers[name]
    settings.servers = servers
    delete_token(name)


# ---- tokens ----------------------------------------------------------------------------------


def _account(name: str) -> str:
    return f"comfyui:{name}"


def load_token(name: str) -> str | None:
    """The server's token, or None (also when no keyring is available: the server may need none)."""
    try:
        return keyring.get_password(KEYRING_SERVICE, _account(name))
    except keyring.errors.KeyringError:
        return None


def store_token(name: str, token: str) -> None:
    try:
        keyring.set_password(KEYRING_SERVICE, _account(name), token)
    except keyring.errors.KeyringError as exc:
        raise ServerError(
            f"The token could not be stored in the system keyring ({type(exc).__name__}); it was not saved anywhere."
        ) from None


def delete_token(name: str) -> None:
    with contextlib.suppress(keyring.errors.KeyringError):  # none stored, or no keyring: nothing to delete
        keyring.delete_password(KEYRING_SERVICE, _account(name))
