"""ComfyUI's HTTP API (routes as in ComfyUI's ``server.py``), with the standard library.

Every failure becomes a ``ServerError`` fit to show a user: ``ServerLost``
when the server cannot be reached (the job may go to another server), plain
``ServerError`` when it answered but refused or failed. A token is sent as a
bearer header and never appears in a message.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

from PIL import Image, UnidentifiedImageError

from desktop_sd.core.errors import ServerError, ServerLost

DEFAULT_TIMEOUT_S = 30.0
MAX_RESPONSE_BYTES = 256 * 1024 * 1024  # an image or a large /object_info; more is not an answer we want


class ImageRef(NamedTuple):
    """A file on the server, as ``/upload/*`` and ``/history`` name it and ``/view`` takes it."""

    filename: str
    subfolder: str = ""
    type: str = "output"


class QueueState(NamedTuple):
    running: tuple[str, ...]  # prompt ids
    pending: tuple[str, ...]


class ComfyClient:
    """One ComfyUI server's HTTP routes. ``name`` appears in messages; ``url`` is the server's root."""

    def __init__(self, name: str, url: str, token: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self._token = token
        self._timeout = timeout_s

    def __repr__(self) -> str:  # never the token
        return f"ComfyClient({self.name!r}, {self.url!r})"

    @property
    def token(self) -> str | None:
        return self._token

    # ---- routes --------------------------------------------------------------------------

    def system_stats(self) -> dict[str, Any]:
        return self._json_object(self._request("GET", "/system_stats"))

    def version(self) -> str:
        """The ComfyUI version the server reports ("unknown" when it has none)."""
        system = self.system_stats().get("system")
        version = system.get("comfyui_version") if isinstance(system, dict) else None
        return str(version) if version else "unknown"

    def checkpoints(self) -> list[str]:
        """The checkpoint names ``CheckpointLoaderSimple`` accepts on this server (``/object_info``)."""
        return self.node_options("CheckpointLoaderSimple", "ckpt_name")

    def node_options(self, node: str, field: str) -> list[str]:
        """The names a node's list input accepts (``/object_info/NODE``): checkpoints, LoRAs, VAEs."""
        info = self._json_object(self._request("GET", f"/object_info/{node}"))
        try:
            spec = info[node]["input"]["required"][field]
        except (KeyError, TypeError):
            raise ServerError(f"{self.name} does not offer the {node} node.") from None
        # Older servers: [[names...], {...}]; newer ones: ["COMBO", {"options": [names...]}].
        names = spec[0] if isinstance(spec, list) and spec and isinstance(spec[0], list) else None
        if names is None and isinstance(spec, list) and len(spec) > 1 and isinstance(spec[1], dict):
            names = spec[1].get("options")
        if not isinstance(names, list):
            raise ServerError(f"{self.name} answered /object_info in a form this version cannot read.")
        return [str(n) for n in names]

    def upload_image(self, image: Image.Image, name: str) -> ImageRef:
        fields = {"type": "input", "overwrite": "true"}
        body, content_type = _multipart(fields, {"image": (name, _png(image))})
        return self._ref(self._request("POST", "/upload/image", body, content_type))

    def upload_mask(self, mask_rgba: Image.Image, name: str, original: ImageRef) -> ImageRef:
        """Upload ``mask_rgba``'s alpha onto ``original``: the server saves the original with that alpha."""
        original_ref = json.dumps(
            {"filename": original.filename, "subfolder": original.subfolder, "type": original.type}
        )
        fields = {"type": "input", "overwrite": "true", "original_ref": original_ref}
        body, content_type = _multipart(fields, {"image": (name, _png(mask_rgba))})
        return self._ref(self._request("POST", "/upload/mask", body, content_type))

    def queue_prompt(self, graph: Mapping[str, Any], client_id: str) -> str:
        """Queue ``graph``; returns its prompt id. Node errors name the node (``KSampler (node 8): ...``)."""
        payload = json.dumps({"prompt": graph, "client_id": client_id}).encode("utf-8")
        try:
            data = self._request("POST", "/prompt", payload, "application/json")
        except _Refused as refused:
            raise ServerError(prompt_error_message(self.name, refused.body)) from None
        answer = self._json_object(data)
        prompt_id = answer.get("prompt_id")
        if not isinstance(prompt_id, str):
            raise ServerError(f"{self.name} accepted the job but sent no prompt id.")
        return prompt_id

    def queue(self) -> QueueState:
        data = self._json_object(self._request("GET", "/queue"))
        return QueueState(_prompt_ids(data.get("queue_running")), _prompt_ids(data.get("queue_pending")))

    def delete_queued(self, prompt_ids: list[str]) -> None:
        self._request("POST", "/queue", json.dumps({"delete": prompt_ids}).encode("utf-8"), "application/json")

    def interrupt(self) -> None:
        self._request("POST", "/interrupt", b"{}", "application/json")

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The history entry of ``prompt_id``; None while it has not finished."""
        data = self._json_object(self._request("GET", f"/history/{urllib.parse.quote(prompt_id)}"))
        entry = data.get(prompt_id)
        return entry if isinstance(entry, dict) else None

    def view(self, ref: ImageRef) -> Image.Image:
        query = urllib.parse.urlencode({"filename": ref.filename, "subfolder": ref.subfolder, "type": ref.type})
        data = self._request("GET", f"/view?{query}")
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return image.convert("RGB")
        except (UnidentifiedImageError, OSError):
            raise ServerError(f"{self.name} sent a result that is not an image ({ref.filename}).") from None

    # ---- plumbing ------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        """Headers for every request, the WebSocket's too (the token as a bearer header)."""
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=self.headers())
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                return bytes(response.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as exc:
            body_text = exc.read(64 * 1024).decode("utf-8", errors="replace")
            if exc.code == 400:
                raise _Refused(body_text) from None
            if 300 <= exc.code < 400:
                raise ServerError(
                    f"{self.name} redirected the request elsewhere; give the server's final address instead."
                ) from None
            if exc.code in (401, 403):
                raise ServerError(f"{self.name} refused the request (HTTP {exc.code}): check its token.") from None
            raise ServerError(f"{self.name} failed the request {path.split('?')[0]} (HTTP {exc.code}).") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerLost(f"{self.name} ({self.url}) cannot be reached: {reason}.") from None

    def _json_object(self, data: bytes) -> dict[str, Any]:
        try:
            value = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise ServerError(f"{self.name} sent an answer that is not valid JSON.") from None
        if not isinstance(value, dict):
            raise ServerError(f"{self.name} sent an answer of an unexpected shape.")
        return value

    def _ref(self, data: bytes) -> ImageRef:
        answer = self._json_object(data)
        name = answer.get("name")
        if not isinstance(name, str) or not name:
            raise ServerError(f"{self.name} did not name the uploaded file.")
        return ImageRef(name, str(answer.get("subfolder") or ""), str(answer.get("type") or "input"))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are errors: urllib would send the token along to wherever one points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class _Refused(Exception):
    """HTTP 400 with its body: ``/prompt`` answers validation errors this way."""

    def __init__(self, body: str) -> None:
        super().__init__("refused")
        self.body = body


def prompt_error_message(server: str, body: str) -> str:
    """A ``/prompt`` refusal as one message naming each failing node (``execution.validate_prompt``'s shape)."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return f"{server} refused the job."
    lines: list[str] = []
    node_errors = answer.get("node_errors")
    if isinstance(node_errors, dict):
        for node_id, info in sorted(node_errors.items()):
            if not isinstance(info, dict):
                continue
            label = f"{info.get('class_type', 'node')} (node {node_id})"
            for error in info.get("errors") or []:
                if isinstance(error, dict):
                    details = f": {error['details']}" if error.get("details") else ""
                    lines.append(f"{label}: {error.get('message', 'invalid')}{details}")
    error = answer.get("error")
    if not lines:
        if isinstance(error, dict):
            lines.append(str(error.get("message") or error.get("type") or "invalid job"))
        elif error:
            lines.append(str(error))
    return f"{server} refused the job: " + ("; ".join(lines) if lines else "no reason given") + "."


def _prompt_ids(items: object) -> tuple[str, ...]:
    """Prompt ids of ``/queue`` items: ``[number, prompt_id, prompt, extra_data, outputs]``."""
    if not isinstance(items, list):
        return ()
    return tuple(str(item[1]) for item in items if isinstance(item, list) and len(item) > 1)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _multipart(fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    for key, (filename, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{filename}"\r\n'
            "Content-Type: image/png\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
