"""A stand-in ComfyUI server for tests, written from ComfyUI's ``server.py`` and ``execution.py``.

It answers the routes the remote backend uses in ComfyUI's shapes (``/prompt``
with ``node_errors``, ``/queue``, ``/interrupt``, ``/history/{id}``, ``/view``,
``/upload/image``, ``/upload/mask``, ``/object_info/{node}``, ``/system_stats``
and ``/ws`` with JSON messages and binary preview frames) and "executes" a
graph by making a solid-colour image of the requested size; the red channel
is the KSampler seed modulo 256, so tests can tell the images of a batch apart.

It listens on 127.0.0.1 only, serves from daemon threads and stops itself
after ``lifetime_s``. Failures on demand: ``fail_prompt`` ("http500",
"malformed", "node_errors"), ``die_at_step`` (closes every connection and
stops listening in the middle of a job), ``error_at_step`` (an
``execution_error`` message), and ``hold`` (a job waits at its first step
until released or interrupted, for cancel and queue tests).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import socket
import struct
import threading
import urllib.parse
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PREVIEW_IMAGE, JPEG = 1, 1
NODE_INPUTS = {  # the required inputs of the standard nodes the backend uses
    "CheckpointLoaderSimple": ("ckpt_name",),
    "LoraLoader": ("model", "clip", "lora_name", "strength_model", "strength_clip"),
    "VAELoader": ("vae_name",),
    "CLIPTextEncode": ("text", "clip"),
    "EmptyLatentImage": ("width", "height", "batch_size"),
    "LoadImage": ("image",),
    "VAEEncode": ("pixels", "vae"),
    "SetLatentNoiseMask": ("samples", "mask"),
    "KSampler": (
        "model",
        "seed",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "positive",
        "negative",
        "latent_image",
        "denoise",
    ),
    "VAEDecode": ("samples", "vae"),
    "PreviewImage": ("images",),
    "SaveImage": ("images",),
}
OUTPUT_NODES = {"PreviewImage", "SaveImage"}


class ComfyStandIn:
    """Start with ``start()`` (or as a context manager); ``url`` is where it listens."""

    def __init__(self, checkpoints: tuple[str, ...] = ("sd15.safetensors",), lifetime_s: float = 60.0) -> None:
        self.checkpoints = list(checkpoints)
        self.loras: list[str] = []  # LoraLoader's lora_name choices (file names under models/loras)
        self.vaes: list[str] = []  # VAELoader's vae_name choices
        self.lifetime_s = lifetime_s
        self.fail_prompt: str | None = None
        self.die_at_step: int | None = None
        self.error_at_step: int | None = None
        self.hold = threading.Event()  # set: each job waits at step 1 until ``release`` or an interrupt
        self.required_token: str | None = None
        self.progress_without_prompt_id = False  # as servers before mid-2024 sent it
        self.redirect_to: str | None = None  # answer every request with a 302 to this URL
        self.version = "v0.2.3-standin"
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers) of each request
        self.prompts: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, Image.Image] = {}
        self.outputs: dict[str, bytes] = {}
        self.history: dict[str, dict[str, Any]] = {}
        self.interrupts = 0
        self.deleted: list[str] = []
        self.step_reached = threading.Event()
        self._queue: deque[tuple[str, dict[str, Any], str]] = deque()
        self._running: tuple[str, dict[str, Any], str] | None = None
        self._interrupt = threading.Event()
        self._release = threading.Event()
        self._work = threading.Condition()
        self._sockets: dict[str, _WebSocket] = {}
        self._dead = False
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._threads: list[threading.Thread] = []
        self._timer = threading.Timer(lifetime_s, self.stop)
        self._timer.daemon = True

    def __enter__(self) -> ComfyStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ComfyStandIn:
        for target in (self._serve, self._execute_loop):
            thread = threading.Thread(target=target, daemon=True, name=f"standin-{target.__name__}")
            thread.start()
            self._threads.append(thread)
        self._timer.start()
        return self

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.05)  # a short poll: ``stop`` returns quickly

    def stop(self) -> None:
        """Close every connection and stop listening (what a killed server looks like to a client)."""
        with self._lock:
            if self._dead:
                return
            self._dead = True
            sockets = list(self._sockets.values())
        self._timer.cancel()
        self._release.set()
        self._interrupt.set()
        with self._work:
            self._work.notify_all()
        for ws in sockets:
            ws.kill()
        self._server.shutdown()
        self._server.server_close()

    def release(self) -> None:
        self.hold.clear()
        self._release.set()

    def queue_lengths(self) -> tuple[int, int]:
        with self._lock:
            return (1 if self._running else 0), len(self._queue)

    # ---- routes --------------------------------------------------------------------------

    def post_prompt(self, body: bytes) -> tuple[int, Any]:
        if self.fail_prompt == "http500":
            return 500, b"500 Internal Server Error"
        if self.fail_prompt == "malformed":
            return 200, b'{"prompt_id": "abc", '
        data = json.loads(body)
        graph = data.get("prompt")
        if not isinstance(graph, dict):
            return 400, {"error": "no prompt", "node_errors": []}
        node_errors = self._validate(graph)
        if self.fail_prompt == "node_errors":
            node_errors["8"] = _node_error(
                "KSampler", "value_smaller_than_min", "Value 0 smaller than min of 1", "steps"
            )
        if node_errors:
            error = {
                "type": "prompt_outputs_failed_validation",
                "message": "Prompt outputs failed validation",
                "details": "",
                "extra_info": {},
            }
            return 400, {"error": error, "node_errors": node_errors}
        prompt_id = str(uuid.uuid4())
        with self._work:
            self.prompts[prompt_id] = graph
            self._queue.append((prompt_id, graph, str(data.get("client_id", ""))))
            self._work.notify_all()
        self._broadcast_status()
        return 200, {"prompt_id": prompt_id, "number": len(self.prompts), "node_errors": {}}

    def get_queue(self) -> dict[str, Any]:
        with self._lock:
            running = [[0, self._running[0], self._running[1], {}, []]] if self._running else []
            pending = [[i + 1, p, g, {}, []] for i, (p, g, _c) in enumerate(self._queue)]
        return {"queue_running": running, "queue_pending": pending}

    def post_queue(self, body: bytes) -> None:
        data = json.loads(body)
        with self._lock:
            for prompt_id in data.get("delete", []):
                for item in list(self._queue):
                    if item[0] == prompt_id:
                        self._queue.remove(item)
                        self.deleted.append(prompt_id)

    def post_interrupt(self) -> None:
        self.interrupts += 1
        self._interrupt.set()

    def object_info(self, node: str) -> dict[str, Any]:
        lists = {
            "CheckpointLoaderSimple": ("ckpt_name", self.checkpoints),
            "LoraLoader": ("lora_name", self.loras),
            "VAELoader": ("vae_name", self.vaes),
        }
        if node not in lists:
            return {}
        field, names = lists[node]
        inputs = {"required": {field: [list(names), {"tooltip": "The file"}]}}
        return {node: {"input": inputs, "output": ["MODEL", "CLIP", "VAE"], "name": node}}

    def system_stats(self) -> dict[str, Any]:
        system = {"os": "posix", "comfyui_version": self.version, "python_version": "3.11", "embedded_python": False}
        device = {"name": "cpu", "type": "cpu", "index": None, "vram_total": 2**33, "vram_free": 2**32}
        return {"system": system, "devices": [device]}

    def upload(self, fields: dict[str, Any], mask: bool) -> dict[str, str]:
        name, data = fields["image"]
        image = Image.open(io.BytesIO(data))
        image.load()
        if mask:
            ref = json.loads(fields["original_ref"])
            original = self.uploads[ref["filename"]].convert("RGBA")
            original.putalpha(image.convert("RGBA").getchannel("A"))
            image = original
        self.uploads[name] = image
        return {"name": name, "subfolder": "", "type": "input"}

    # ---- execution -----------------------------------------------------------------------

    def _validate(self, graph: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        for node_id, node in graph.items():
            kind = node.get("class_type")
            if kind not in NODE_INPUTS:
                errors[node_id] = _node_error(str(kind), "invalid_node", f"Node type {kind} not found", "")
                continue
            for name in NODE_INPUTS[kind]:
                if name not in node.get("inputs", {}):
                    errors[node_id] = _node_error(kind, "required_input_missing", "Required input is missing", name)
            value = node.get("inputs", {})
            if kind == "CheckpointLoaderSimple" and value.get("ckpt_name") not in self.checkpoints:
                details = f"ckpt_name: '{value.get('ckpt_name')}' not in {self.checkpoints}"
                errors[node_id] = _node_error(kind, "value_not_in_list", "Value not in list", details)
            for loader, field, names in (("LoraLoader", "lora_name", self.loras), ("VAELoader", "vae_name", self.vaes)):
                if kind == loader and value.get(field) not in names:
                    details = f"{field}: '{value.get(field)}' not in {names}"
                    errors[node_id] = _node_error(kind, "value_not_in_list", "Value not in list", details)
            if kind == "LoadImage" and value.get("image") not in self.uploads:
                errors[node_id] = _node_error(kind, "custom_validation_failed", "Invalid image file", "image")
        if not any(node.get("class_type") in OUTPUT_NODES for node in graph.values()):
            return {"prompt": _node_error("", "prompt_no_outputs", "Prompt has no outputs", "")}
        return errors

    def _execute_loop(self) -> None:
        while True:
            with self._work:
                while not self._queue and not self._dead:
                    self._work.wait()
                if self._dead:
                    return
                self._running = self._queue.popleft()
                self._interrupt.clear()
            prompt_id, graph, client_id = self._running
            self._execute(prompt_id, graph, client_id)
            with self._lock:
                self._running = None
            self._broadcast_status()

    def _execute(self, prompt_id: str, graph: dict[str, Any], client_id: str) -> None:
        self._send(client_id, "execution_start", {"prompt_id": prompt_id})
        sampler_id, sampler = next((k, n) for k, n in graph.items() if n["class_type"] == "KSampler")
        steps = int(sampler["inputs"]["steps"])
        size = self._size(graph)
        colour = (int(sampler["inputs"]["seed"]) % 256, 128, 64)
        self._send(client_id, "executing", {"node": sampler_id, "prompt_id": prompt_id})
        for step in range(1, steps + 1):
            if step == self.die_at_step:
                self.stop()
                return
            if step == self.error_at_step:
                data = {
                    "prompt_id": prompt_id,
                    "node_id": sampler_id,
                    "node_type": "KSampler",
                    "exception_message": "CUDA out of memory",
                    "exception_type": "torch.OutOfMemoryError",
                }
                self._send(client_id, "execution_error", data)
                self.history[prompt_id] = {
                    "prompt": [0, prompt_id, graph, {}, []],
                    "outputs": {},
                    "status": {"status_str": "error", "completed": False, "messages": []},
                }
                return
            if step == 1 and self.hold.is_set():
                self.step_reached.set()
                while not (self._release.wait(0.05) or self._interrupt.is_set()):
                    pass
                self._release.clear()
            if self._interrupt.is_set():
                data = {"prompt_id": prompt_id, "node_id": sampler_id, "node_type": "KSampler", "executed": []}
                self._send(client_id, "execution_interrupted", data)
                return
            progress = {"value": step, "max": steps, "prompt_id": prompt_id, "node": sampler_id}
            if self.progress_without_prompt_id:
                del progress["prompt_id"]
            self._send(client_id, "progress", progress)
            self._send_preview(client_id, Image.new("RGB", (64, 64), colour))
            self.step_reached.set()
        filename = f"ComfyUI_temp_{len(self.outputs):05}_.png"
        buffer = io.BytesIO()
        Image.new("RGB", size, colour).save(buffer, "PNG")
        self.outputs[filename] = buffer.getvalue()
        output_id = next(k for k, n in graph.items() if n["class_type"] in OUTPUT_NODES)
        images = [{"filename": filename, "subfolder": "", "type": "temp"}]
        self.history[prompt_id] = {
            "prompt": [0, prompt_id, graph, {}, [output_id]],
            "outputs": {output_id: {"images": images}},
            "status": {"status_str": "success", "completed": True, "messages": []},
        }
        self._send(client_id, "executed", {"node": output_id, "output": {"images": images}, "prompt_id": prompt_id})
        self._send(client_id, "executing", {"node": None, "prompt_id": prompt_id})

    def _size(self, graph: dict[str, Any]) -> tuple[int, int]:
        for node in graph.values():
            if node["class_type"] == "EmptyLatentImage":
                return int(node["inputs"]["width"]), int(node["inputs"]["height"])
            if node["class_type"] == "LoadImage":
                return self.uploads[node["inputs"]["image"]].size
        return 64, 64

    # ---- the socket ----------------------------------------------------------------------

    def add_socket(self, client_id: str, ws: _WebSocket) -> None:
        """Listen for ``client_id``'s events; called before the handshake answer goes out, as ComfyUI's own
        handler has the socket registered before the client can queue a prompt (else a first progress
        message sent meanwhile would be lost)."""
        with self._lock:
            self._sockets[client_id] = ws

    def greet(self, client_id: str, ws: _WebSocket) -> None:
        """The status message ComfyUI sends first on a new socket."""
        running, pending = self.queue_lengths()
        ws.send_text(
            json.dumps({"type": "status", "data": {"status": _exec_info(running + pending), "sid": client_id}})
        )

    def drop_socket(self, client_id: str, ws: _WebSocket) -> None:
        with self._lock:
            if self._sockets.get(client_id) is ws:
                del self._sockets[client_id]

    def _send(self, client_id: str, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            ws = self._sockets.get(client_id)
        if ws is not None:
            ws.send_text(json.dumps({"type": event, "data": data}))

    def _send_preview(self, client_id: str, image: Image.Image) -> None:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        with self._lock:
            ws = self._sockets.get(client_id)
        if ws is not None:
            ws.send_binary(struct.pack(">II", PREVIEW_IMAGE, JPEG) + buffer.getvalue())

    def _broadcast_status(self) -> None:
        running, pending = self.queue_lengths()
        with self._lock:
            sockets = list(self._sockets.values())
        for ws in sockets:
            ws.send_text(json.dumps({"type": "status", "data": {"status": _exec_info(running + pending)}}))


def _exec_info(remaining: int) -> dict[str, Any]:
    return {"exec_info": {"queue_remaining": remaining}}


def _node_error(class_type: str, kind: str, message: str, details: str) -> dict[str, Any]:
    error = {"type": kind, "message": message, "details": details, "extra_info": {}}
    return {"errors": [error], "dependent_outputs": [], "class_type": class_type}


class _WebSocket:
    """The server side of one WebSocket connection (RFC 6455, unfragmented frames)."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self._lock = threading.Lock()
        self.open = True

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode("utf-8"))

    def send_binary(self, data: bytes) -> None:
        self._send(0x2, data)

    def _send(self, opcode: int, payload: bytes) -> None:
        length = len(payload)
        if length < 126:
            header = struct.pack(">BB", 0x80 | opcode, length)
        elif length < 2**16:
            header = struct.pack(">BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack(">BBQ", 0x80 | opcode, 127, length)
        with self._lock:
            if not self.open:
                return
            try:
                self.connection.sendall(header + payload)
            except OSError:
                self.open = False

    def serve(self) -> None:
        """Read the client's frames until it closes (a close frame is answered with one)."""
        stream = self.connection.makefile("rb")
        try:
            while self.open:
                head = stream.read(2)
                if len(head) < 2:
                    break
                opcode, length = head[0] & 0x0F, head[1] & 0x7F
                if length == 126:
                    length = struct.unpack(">H", stream.read(2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", stream.read(8))[0]
                key = stream.read(4) if head[1] & 0x80 else b"\0\0\0\0"
                payload = bytes(b ^ key[i % 4] for i, b in enumerate(stream.read(length)))
                if opcode == 0x8:
                    self._send(0x8, payload[:2])
                    break
                if opcode == 0x9:
                    self._send(0xA, payload)
        except OSError:
            pass
        finally:
            self.open = False

    def kill(self) -> None:
        """Drop the connection without a close frame, as a killed process does."""
        with self._lock:
            self.open = False
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()


def _handler_for(standin: ComfyStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _allowed(self) -> bool:
            standin.requests.append((self.command, self.path, dict(self.headers)))
            if standin.redirect_to is not None:
                self.send_response(302)
                self.send_header("Location", standin.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return False
            token = standin.required_token
            if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
                self._reply(401, b"401: Unauthorized")
                return False
            return True

        def do_GET(self) -> None:
            if not self._allowed():
                return
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            if parts.path == "/ws":
                self._websocket(query.get("clientId") or uuid.uuid4().hex)
            elif parts.path == "/system_stats":
                self._reply(200, standin.system_stats())
            elif parts.path.startswith("/object_info/"):
                self._reply(200, standin.object_info(parts.path.rsplit("/", 1)[1]))
            elif parts.path == "/queue":
                self._reply(200, standin.get_queue())
            elif parts.path.startswith("/history/"):
                prompt_id = urllib.parse.unquote(parts.path.rsplit("/", 1)[1])
                entry = standin.history.get(prompt_id)
                self._reply(200, {prompt_id: entry} if entry is not None else {})
            elif parts.path == "/view" and query.get("filename") in standin.outputs:
                self._reply(200, standin.outputs[query["filename"]], "image/png")
            else:
                self._reply(404, b"404: Not Found")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not self._allowed():
                return
            path = urllib.parse.urlsplit(self.path).path
            if path == "/prompt":
                status, answer = standin.post_prompt(body)
                self._reply(status, answer)
            elif path == "/queue":
                standin.post_queue(body)
                self._reply(200, b"")
            elif path == "/interrupt":
                standin.post_interrupt()
                self._reply(200, b"")
            elif path in ("/upload/image", "/upload/mask"):
                fields = _multipart_fields(self.headers.get("Content-Type", ""), body)
                self._reply(200, standin.upload(fields, mask=path == "/upload/mask"))
            else:
                self._reply(404, b"404: Not Found")

        def _reply(self, status: int, answer: Any, content_type: str = "application/json") -> None:
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode("utf-8")
            if isinstance(answer, bytes) and content_type == "application/json" and status != 200:
                content_type = "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _websocket(self, client_id: str) -> None:
            key = self.headers.get("Sec-WebSocket-Key", "")
            accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            ws = _WebSocket(self.connection)
            standin.add_socket(client_id, ws)
            self.send_response(101, "Switching Protocols")
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            self.end_headers()
            self.wfile.flush()
            standin.greet(client_id, ws)
            try:
                ws.serve()
            finally:
                standin.drop_socket(client_id, ws)
                self.close_connection = True

    return Handler


def _multipart_fields(content_type: str, body: bytes) -> dict[str, Any]:
    """Form fields of a multipart body: text fields as str, files as (filename, bytes)."""
    boundary = content_type.split("boundary=", 1)[1].strip().encode()
    fields: dict[str, Any] = {}
    for part in body.split(b"--" + boundary):
        if b"\r\n\r\n" not in part:
            continue
        head, _, data = part.partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        disposition = head.decode("utf-8", errors="replace").strip().splitlines()[0]
        params = dict(p.strip().split("=", 1) for p in disposition.split(";") if "=" in p)
        name = params.get("name", "").strip('"')
        if "filename" in params:
            fields[name] = (params["filename"].strip('"'), data)
        else:
            fields[name] = data.decode("utf-8")
    return fields
