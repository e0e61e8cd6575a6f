"""``ComfyBackend``: runs a ``GenerationRequest`` on one ComfyUI server (``core.backend.Backend``).

The request is checked and prepared locally (``core.inputs``, as the local
engine does): images are scaled, the outpaint canvas is built, and the
results are composited back so pixels outside the mask keep the user's bytes.
Only sampling runs on the server. The progress socket is opened before
anything is queued, so no message about our prompts is missed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any

from PIL import Image, ImageOps

from desktop_sd.core import hires
from desktop_sd.core.backend import BackendStatus, StepCallback
from desktop_sd.core.errors import Cancelled, InputError, ServerError, ServerLost
from desktop_sd.core.inputs import PipelineCall, PipelineKind, prepare_call
from desktop_sd.core.loras import prompt_loras
from desktop_sd.core.params import draw_seed
from desktop_sd.core.request import GenerationRequest, GenerationResult, MemoryTier
from desktop_sd.core.validation import check_request
from desktop_sd.remote.client import ComfyClient, ImageRef
from desktop_sd.remote.events import EventSocket, Failed, Finished, Interrupted, Preview, Progress
from desktop_sd.remote.workflow import OUTPUT_NODE, AddOns, Uploaded, build_graph

DEVICE = "comfyui"  # GenerationResult.device and BackendStatus.device of a remote job
POLL_S = 0.25  # how long one socket read waits before the cancel flag is looked at again
HISTORY_CHECK_S = 5.0  # a quiet socket: ask /history directly, in case a message was missed
PREVIEW_INTERVAL_S = 0.25

SocketFactory = Callable[[ComfyClient, str], EventSocket]


def open_socket(client: ComfyClient, client_id: str) -> EventSocket:
    return EventSocket(client.url, client_id, client.headers(), timeout_s=10.0)


class ComfyBackend:
    """Generates on one ComfyUI server; ``client.name`` names it in results and messages."""

    def __init__(
        self,
        client: ComfyClient,
        *,
        open_events: SocketFactory = open_socket,
        preview_interval_s: float = PREVIEW_INTERVAL_S,
        history_check_s: float = HISTORY_CHECK_S,
    ) -> None:
        self.client = client
        self._open_events = open_events
        self._preview_interval = preview_interval_s
        self._history_check = history_check_s
        self._checkpoints: list[str] | None = None
        self._last_model: str | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.client.name

    # ---- Backend -------------------------------------------------------------------------

    def generate(
        self, request: GenerationRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> GenerationResult:
        """Run ``request`` on the server. Raises ``Cancelled``, ``InputError``, ``ServerError`` or ``ServerLost``."""
        started = time.perf_counter()
        request, notices = check_request(request)
        if hires.wanted(request):  # the graphs here have no hires pass: the image is made at its base size
            notices.append("The hires fix runs on this computer only; the server made the image at its base size.")
            request = request.replace(hires_scale=1.0)
        seed = request.seed if request.seed is not None else draw_seed()
        request = request.replace(seed=seed)
        request = request.replace(fast_decode=False)  # the server decodes with the model's VAE: metadata says so
        call = prepare_call(request)  # bad images and masks fail here, before anything is sent
        notices += call.notices
        _raise_if_cancelled(cancelled)
        checkpoint = self.checkpoint_for(request.model)
        prompt, negative, loras = prompt_loras(request.prompt, request.negative_prompt, request.loras)
        add_ons = AddOns(
            loras=[(self._server_name("LoraLoader", "lora_name", "LoRA", name), w) for name, w in loras],
            vae=self._server_name("VAELoader", "vae_name", "VAE", request.vae) if request.vae else None,
        )
        seeds = tuple(seed + i for i in range(request.batch_size))
        client_id = uuid.uuid4().hex
        events = self._open_events(self.client, client_id)
        try:
            uploaded = self._upload(call, client_id)
            graphs = [build_graph(call, request, checkpoint, s, uploaded, add_ons, (prompt, negative)) for s in seeds]
            job = _Job(self.client, events, cancelled, on_step, request.steps, self._preview_interval)
            images = job.run(graphs, client_id, self._history_check)
        finally:
            events.close()
        self._last_model = checkpoint
        return GenerationResult(
            images=tuple(call.finish(images)),
            request=request,
            seeds=seeds,
            model_id=checkpoint,
            device=DEVICE,
            tier=MemoryTier.GPU,  # the server places the model itself; the field has no "unknown"
            notices=tuple(notices),
            elapsed_s=time.perf_counter() - started,
            server=self.name,
            graphs=tuple(json.dumps(g, sort_keys=True) for g in graphs),
        )

    def status(self) -> BackendStatus:
        """The server's device and free memory; never raises (an unreachable server says so)."""
        try:
            stats = self.client.system_stats()
        except ServerError:
            return BackendStatus(DEVICE, f"{self.name} (unreachable)", None, self._last_model, None)
        devices = stats.get("devices")
        first = devices[0] if isinstance(devices, list) and devices and isinstance(devices[0], dict) else {}
        free = first.get("vram_free")
        return BackendStatus(
            device=DEVICE,
            device_name=f"{self.name}: {first.get('name', 'unknown device')}",
            tier=None,
            model_id=self._last_model,
            free_vram_mb=int(free) // (1024 * 1024) if isinstance(free, (int, float)) else None,
        )

    # ---- models and load -----------------------------------------------------------------

    def checkpoints(self, refresh: bool = False) -> list[str]:
        """The server's checkpoint names (cached; ``refresh`` asks again)."""
        with self._lock:
            if self._checkpoints is None or refresh:
                self._checkpoints = self.client.checkpoints()
            return list(self._checkpoints)

    def checkpoint_for(self, model: str) -> str:
        """The server's name for ``model``: the exact name, or a file whose name or stem matches."""
        for refresh in (False, True):
            names = self.checkpoints(refresh)
            found = match_checkpoint(model, names)
            if found is not None:
                return found
        listed = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "") if names else "none"
        raise ServerError(f"{self.name} has no checkpoint {model!r}. Its checkpoints: {listed}.")

    def _server_name(self, node: str, field: str, kind: str, wanted: str) -> str:
        """The server's file for a LoRA or VAE the request names (by name, file name or stem); a clear
        error naming what the server has where it has no such file."""
        names = self.client.node_options(node, field)
        found = match_checkpoint(wanted, names)
        if found is None:
            listed = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "") if names else "none"
            raise InputError(f"{self.name} has no {kind} {wanted!r}. Its {kind}s: {listed}.")
        return found

    def queue_length(self) -> int:
        """Prompts running or waiting on the server (anyone's). ``ServerLost`` when it cannot be reached."""
        state = self.client.queue()
        return len(state.running) + len(state.pending)

    def _upload(self, call: PipelineCall, client_id: str) -> Uploaded | None:
        if call.kind is PipelineKind.TXT2IMG:
            return None
        assert call.image is not None
        image = self.client.upload_image(call.image, f"desktop-sd-{client_id}.png")
        if call.kind is not PipelineKind.INPAINT:
            return Uploaded(image.filename)
        assert call.mask is not None
        # LoadImage's MASK is 1 - alpha: the area to repaint goes transparent.
        keep = ImageOps.invert(call.mask.convert("L"))
        masked = call.image.convert("RGBA")
        masked.putalpha(keep)
        mask_ref = self.client.upload_mask(masked, f"desktop-sd-{client_id}-mask.png", image)
        return Uploaded(image.filename, _load_name(mask_ref))


def match_checkpoint(model: str, names: Sequence[str]) -> str | None:
    if not model:
        return None
    if model in names:
        return model
    wanted = PurePosixPath(model.replace("\\", "/"))
    for name in names:
        path = PurePosixPath(name.replace("\\", "/"))
        if path.name == wanted.name or path.stem == wanted.name or path.stem == wanted.stem:
            return name
    return None


def _load_name(ref: ImageRef) -> str:
    """``LoadImage``'s name for an input file: ``subfolder/name``, or the name alone."""
    return f"{ref.subfolder}/{ref.filename}" if ref.subfolder else ref.filename


def _raise_if_cancelled(cancelled: threading.Event) -> None:
    if cancelled.is_set():
        raise Cancelled("Cancelled.")


class _Job:
    """One request's prompts on the server, followed to the end through the event socket."""

    def __init__(
        self,
        client: ComfyClient,
        events: EventSocket,
        cancelled: threading.Event,
        on_step: StepCallback,
        steps: int,
        preview_interval_s: float,
    ) -> None:
        self.client = client
        self.events = events
        self.cancelled = cancelled
        self.on_step = on_step
        self.steps = steps
        self.preview_interval = preview_interval_s
        self.ids: list[str] = []
        self.results: dict[str, list[Image.Image]] = {}
        self.preview: Image.Image | None = None
        self.preview_shown_at = 0.0

    def run(self, graphs: list[dict[str, Any]], client_id: str, history_check_s: float) -> list[Image.Image]:
        try:
            for graph in graphs:
                _raise_if_cancelled(self.cancelled)
                self.ids.append(self.client.queue_prompt(graph, client_id))
            self._follow(history_check_s)
        except Cancelled:
            self._withdraw()
            raise
        except ServerLost as exc:
            raise ServerLost(f"{self.client.name} stopped answering during the job: {exc}") from None
        except ServerError:
            self._withdraw()
            raise
        return [image for prompt_id in self.ids for image in self.results[prompt_id]]

    def _follow(self, history_check_s: float) -> None:
        quiet_since = time.monotonic()
        while len(self.results) < len(self.ids):
            _raise_if_cancelled(self.cancelled)
            event = self.events.read(POLL_S)
            if event is None:
                if time.monotonic() - quiet_since >= history_check_s:
                    self._check_history()
                    quiet_since = time.monotonic()
                continue
            quiet_since = time.monotonic()
            if isinstance(event, Preview):
                self.preview = event.image
            elif isinstance(event, Progress) and event.prompt_id is None:
                # Servers before mid-2024 sent no prompt id with progress; only our prompts report to our socket.
                self._progress(Progress(self._current(), event.value, event.maximum))
            elif isinstance(event, Progress) and event.prompt_id in self.ids:
                self._progress(event)
            elif isinstance(event, Finished) and event.prompt_id in self.ids and event.prompt_id not in self.results:
                self._collect(event.prompt_id)
            elif isinstance(event, Failed) and event.prompt_id in self.ids:
                raise ServerError(f"{self.client.name}: {event.message}")
            elif isinstance(event, Interrupted) and event.prompt_id in self.ids:
                _raise_if_cancelled(self.cancelled)
                raise ServerError(f"{self.client.name}: the job was interrupted on the server.")

    def _progress(self, event: Progress) -> None:
        assert event.prompt_id is not None
        index = self.ids.index(event.prompt_id)
        per_image = max(event.maximum, 1)
        preview = None
        now = time.monotonic()
        last = event.value >= per_image and index == len(self.ids) - 1
        if self.preview is not None and (now - self.preview_shown_at >= self.preview_interval or last):
            preview, self.preview, self.preview_shown_at = self.preview, None, now
        self.on_step(index * per_image + event.value, len(self.ids) * per_image, preview)

    def _current(self) -> str:
        """Our first prompt without a result: the server runs them in order."""
        return next(p for p in self.ids if p not in self.results)

    def _check_history(self) -> None:
        for prompt_id in self.ids:
            if prompt_id not in self.results and self.client.history(prompt_id) is not None:
                self._collect(prompt_id)

    def _collect(self, prompt_id: str) -> None:
        entry = self.client.history(prompt_id)
        if entry is None:
            return  # ComfyUI writes the history just after its last message: the next check finds it
        status = entry.get("status")
        if isinstance(status, dict) and status.get("status_str") == "error":
            raise ServerError(f"{self.client.name} failed the job (see the server's log).")
        outputs = entry.get("outputs")
        node = outputs.get(OUTPUT_NODE) if isinstance(outputs, dict) else None
        files = node.get("images") if isinstance(node, dict) else None
        if not isinstance(files, list) or not files:
            raise ServerError(f"{self.client.name} finished the job but returned no image.")
        refs = [
            ImageRef(str(f.get("filename")), str(f.get("subfolder") or ""), str(f.get("type") or "output"))
            for f in files
            if isinstance(f, dict)
        ]
        self.results[prompt_id] = [self.client.view(ref) for ref in refs]

    def _withdraw(self) -> None:
        """Take our unfinished prompts off the server: delete the queued ones, interrupt the running one."""
        open_ids = [p for p in self.ids if p not in self.results]
        if not open_ids:
            return
        try:
            state = self.client.queue()
            waiting = [p for p in open_ids if p in state.pending]
            if waiting:
                self.client.delete_queued(waiting)
            if any(p in state.running for p in open_ids):
                self.client.interrupt()
        except ServerError:
            pass  # the server is gone or refuses: nothing of ours will run there anyway
