"""Network policy: offline mode, library telemetry, proxies, and the Hub endpoint.

Only downloads started by the user reach the network, and only through this
package's own HTTP code (``transfer``). In offline mode, set by the user or
detected when the network is unreachable, nothing is even attempted.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import socket
import ssl
import sys
import threading
import urllib.parse
import urllib.request

from desktop_sd.core.errors import DownloadError
from desktop_sd.core.settings import Settings

DEFAULT_ENDPOINT = "https://huggingface.co"
PROBE_TIMEOUT_S = 3.0

_unreachable = threading.Event()  # set for the rest of the session once the network was found unreachable


def apply_environment(offline: bool) -> None:
    """Turn library telemetry off and, when offline, tell huggingface_hub/diffusers/transformers so.

    Call before those libraries are imported: they read these variables once,
    at import. Where huggingface_hub is already imported its constant is set too.
    """
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        if "huggingface_hub.constants" in sys.modules:  # already imported, so it read the variable already
            from huggingface_hub import constants

            constants.HF_HUB_OFFLINE = True


def offline_setting(settings: Settings | None = None) -> bool:
    return (settings or Settings.load()).offline


def is_offline(settings: Settings | None = None) -> bool:
    """Offline by the user's choice (the setting, or ``DESKTOP_SD_OFFLINE=1``), or because the network
    was found unreachable earlier in this session."""
    if _unreachable.is_set():
        return True
    if os.environ.get("DESKTOP_SD_OFFLINE", "").lower() in ("1", "true", "yes"):
        return True
    return offline_setting(settings)


def reset_detected_offline() -> None:
    """Forget an earlier 'unreachable' (the user asked to retry)."""
    _unreachable.clear()


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def ensure_online(url: str, settings: Settings | None = None) -> None:
    """Refuse at once in offline mode; otherwise check the host answers, quickly.

    A host that cannot be reached marks the session offline, so later attempts
    fail at once instead of waiting on time-outs again.
    """
    if is_offline(settings):
        raise DownloadError(
            "Desktop SD is working offline, so nothing can be downloaded. "
            "Turn off offline mode in Models (or connect to the network) and try again."
        )
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    if not host:
        raise DownloadError(f"{url} is not a download address (expected http:// or https://).")
    if _proxy_for(url):
        return  # the proxy decides; a direct probe would be wrong
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, (socket.gaierror, TimeoutError)) or exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            _unreachable.set()  # no network at all: stop trying for this session
            raise DownloadError(
                f"Cannot reach {host} ({why}). Desktop SD is working offline for this session: "
                "installed models still work. Check the connection, then retry."
            ) from None
        raise DownloadError(f"Cannot connect to {host} ({why}). Check the address or try again later.") from None


def _proxy_for(url: str) -> str | None:
    scheme = urllib.parse.urlsplit(url).scheme
    host = urllib.parse.urlsplit(url).hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """Certificate checks against the system's CAs (and ``SSL_CERT_FILE``), the bundle named by
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (company proxies), and certifi's list where installed
    (bundled apps and some Pythons have no usable system list)."""
    context = ssl.create_default_context()
    extra = [os.environ.get("REQUESTS_CA_BUNDLE"), os.environ.get("CURL_CA_BUNDLE")]
    try:
        import certifi

        extra.append(certifi.where())
    except ImportError:
        pass
    for cafile in extra:
        if cafile and os.path.isfile(cafile):
            with contextlib.suppress(OSError, ssl.SSLError):
                context.load_verify_locations(cafile=cafile)
    return context


def opener(*extra: urllib.request.BaseHandler) -> urllib.request.OpenerDirector:
    """A urllib opener that verifies certificates and honours ``http_proxy``/``https_proxy``/``no_proxy``."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler(urllib.request.getproxies()),
        urllib.request.HTTPSHandler(context=ssl_context()),
        *extra,
    )


def hub_token() -> str | None:
    """The user's Hugging Face token, if they saved one (for gated repos); never sent elsewhere."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if os.environ.get(name):
            return os.environ[name].strip()
    path = os.environ.get("HF_TOKEN_PATH")
    if not path:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
        )
        path = os.path.join(home, "token")
    try:
        with open(path, encoding="utf-8") as fh:
            token = fh.read().strip()
    except OSError:
        return None
    return token or None
