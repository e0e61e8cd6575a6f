"""ComfyUI's ``/ws`` messages as typed events, read with ``websocket-client``.

Text frames are JSON ``{"type": ..., "data": ...}`` (``status``,
``execution_start``, ``executing``, ``progress``, ``executed``,
``execution_success``, ``execution_error``, ``execution_interrupted``, ...).
Binary frames are previews: a 4-byte big-endian event type (1 = preview
image), a 4-byte image format (1 = JPEG, 2 = PNG), then the image's bytes.
"""

from __future__ import annotations

import contextlib
import io
import json
import struct
import urllib.parse
from dataclasses import dataclass
from typing import Any

import websocket
from PIL import Image, UnidentifiedImageError

from desktop_sd.core.errors import ServerLost

PREVIEW_IMAGE = 1  # ComfyUI's BinaryEventTypes.PREVIEW_IMAGE


@dataclass(frozen=True)
class Progress:
    prompt_id: str | None
    value: int
    maximum: int


@dataclass(frozen=True)
class Preview:
    image: Image.Image


@dataclass(frozen=True)
class Finished:
    """The prompt ran to the end (``executing`` with no node, or ``execution_success``)."""

    prompt_id: str | None


@dataclass(frozen=True)
class Failed:
    prompt_id: str | None
    message: str


@dataclass(frozen=True)
class Interrupted:
    prompt_id: str | None


@dataclass(frozen=True)
class QueueStatus:
    remaining: int


Event = Progress | Preview | Finished | Failed | Interrupted | QueueStatus


def parse_text(text: str) -> Event | None:
    """One text frame as an event; None for messages we do not act on (or cannot read)."""
    try:
        message = json.loads(text)
    except ValueError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
        return None
    kind, data = message.get("type"), message["data"]
    prompt_id = data.get("prompt_id") if isinstance(data.get("prompt_id"), str) else None
    if kind == "progress":
        return Progress(prompt_id, _int(data.get("value")), _int(data.get("max")))
    if kind == "executing" and data.get("node") is None and prompt_id is not None:
        return Finished(prompt_id)
    if kind == "execution_success":
        return Finished(prompt_id)
    if kind == "execution_error":
        node = f"{data.get('node_type', 'a node')} (node {data.get('node_id', '?')})"
        return Failed(prompt_id, f"{node} failed: {data.get('exception_message', 'no reason given')}".strip())
    if kind == "execution_interrupted":
        return Interrupted(prompt_id)
    if kind == "status":
        status = data.get("status")
        info = status.get("exec_info") if isinstance(status, dict) else None
        if isinstance(info, dict):
            return QueueStatus(_int(info.get("queue_remaining")))
    return None


def parse_binary(data: bytes) -> Preview | None:
    """A binary frame's preview image; None for other binary events or a damaged image."""
    if len(data) < 8:
        return None
    event, _image_format = struct.unpack(">II", data[:8])
    if event != PREVIEW_IMAGE:
        return None
    try:
        with Image.open(io.BytesIO(data[8:])) as image:
            image.load()
            return Preview(image.convert("RGB"))
    except (UnidentifiedImageError, OSError):
        return None


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


class EventSocket:
    """A connection to ``/ws`` for one client id. ``read`` waits at most ``poll_s`` for one event."""

    def __init__(self, url: str, client_id: str, headers: dict[str, str], timeout_s: float) -> None:
        parts = urllib.parse.urlsplit(url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = urllib.parse.urlencode({"clientId": client_id})
        address = urllib.parse.urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", query, ""))
        header = [f"{k}: {v}" for k, v in headers.items()]
        try:
            # No redirects: the token must not follow one to another host.
            self._socket = websocket.create_connection(address, timeout=timeout_s, header=header, redirect_limit=0)
        except (websocket.WebSocketException, OSError) as exc:
            raise ServerLost(f"{url} did not accept the progress connection: {exc}.") from None

    def read(self, poll_s: float) -> Event | None:
        """The next event, or None when nothing we act on came within ``poll_s``. ``ServerLost`` when closed."""
        self._socket.settimeout(poll_s)
        try:
            opcode, data = self._socket.recv_data()
        except websocket.WebSocketTimeoutException:
            return None
        except (websocket.WebSocketException, OSError) as exc:
            raise ServerLost(f"the server closed the progress connection ({exc or 'closed'}).") from None
        if opcode == websocket.ABNF.OPCODE_TEXT:
            return parse_text(data.decode("utf-8", errors="replace"))
        if opcode == websocket.ABNF.OPCODE_BINARY:
            return parse_binary(data)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise ServerLost("the server closed the progress connection.")
        return None

    def close(self) -> None:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self._socket.close(timeout=1)
