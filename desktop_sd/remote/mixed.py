"""The window's backend: the local engine and the user's ComfyUI servers as one ``ServerPool``.

A checkpoint of a server is picked as ``comfyui://SERVER/CHECKPOINT`` (``server_model_id``):
only servers run it (any server with that checkpoint, the least busy first), never the local
engine. A local model runs on this computer, or on a server that has a checkpoint of the same
file name when that server is less busy. The local engine is made on its first job; torch and the
rest are imported before that, by ``warm_up`` once the window shows. The servers can be replaced
while the window runs.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence

from desktop_sd.core.backend import Backend, BackendStatus, StepCallback
from desktop_sd.core.errors import ServerError
from desktop_sd.core.request import GenerationRequest, GenerationResult
from desktop_sd.core.upscaling import UpscaleBackend, UpscaleRequest, UpscaleResult
from desktop_sd.core.warm_up import warm_up
from desktop_sd.remote.backend import ComfyBackend
from desktop_sd.remote.pool import LocalMember, MemberState, ServerPool

SERVER_MODEL_PREFIX = "comfyui://"
LOCAL_NAME = "This computer"


def server_model_id(server: str, checkpoint: str) -> str:
    """What ``GenerationRequest.model`` holds for ``checkpoint`` of ``server``."""
    return f"{SERVER_MODEL_PREFIX}{server}/{checkpoint}"


def parse_server_model(model: str) -> tuple[str, str] | None:
    """``(server, checkpoint)`` of a server model id; None for a local model."""
    if not model.startswith(SERVER_MODEL_PREFIX):
        return None
    server, _, checkpoint = model[len(SERVER_MODEL_PREFIX) :].partition("/")
    return (server, checkpoint) if server and checkpoint else None


class _LazyEngine:
    """The local engine, made by ``factory`` on its first use."""

    def __init__(self, factory: Callable[[], Backend]) -> None:
        self._factory = factory
        self.engine: Backend | None = None
        self._lock = threading.Lock()

    def get(self) -> Backend:
        with self._lock:
            if self.engine is None:
                self.engine = self._factory()
            return self.engine

    def warm_up(self, stop: threading.Event) -> None:
        """The factory's warm-up (the local engine's imports); the engine itself is still made on its first job."""
        if not isinstance(self._factory, type):  # a class as the factory: its warm_up is its instances'
            warm_up(self._factory, stop)

    def generate(
        self, request: GenerationRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> GenerationResult:
        return self.get().generate(request, on_step, cancelled)

    def status(self) -> BackendStatus:
        return self.get().status()


class _LocalEngine(LocalMember):
    """The local engine as a member; it refuses the servers' checkpoints."""

    def __init__(self, factory: Callable[[], Backend]) -> None:
        self.lazy = _LazyEngine(factory)
        super().__init__(self.lazy, LOCAL_NAME)

    def checkpoint_for(self, model: str) -> str:
        parsed = parse_server_model(model)
        if parsed is not None:
            raise ServerError(f"{parsed[1]} is a checkpoint of the server {parsed[0]}")
        return model


class MixedBackend:
    """``Backend`` for the window; ``set_servers`` swaps the servers (a running job keeps its pool)."""

    def __init__(self, local_factory: Callable[[], Backend], servers: Sequence[ComfyBackend] = ()) -> None:
        self._local = _LocalEngine(local_factory)
        self._lock = threading.Lock()
        self._servers: list[ComfyBackend] = []
        self._pool = ServerPool([self._local])
        self._last_server = ""  # where the last job ran ("": this computer)
        self.set_servers(servers)

    def set_servers(self, servers: Sequence[ComfyBackend]) -> None:
        pool = ServerPool([self._local, *(_ServerMember(s) for s in servers)])
        with self._lock:
            self._servers, self._pool = list(servers), pool

    def servers(self) -> list[ComfyBackend]:
        with self._lock:
            return list(self._servers)

    def states(self) -> list[MemberState]:
        """Each member now (asks each server: call it off the GUI thread)."""
        with self._lock:
            pool = self._pool
        return pool.states()

    def generate(
        self, request: GenerationRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> GenerationResult:
        with self._lock:
            pool = self._pool
        result = pool.generate(request, on_step, cancelled)
        self._last_server = result.server
        return result

    def warm_up(self, stop: threading.Event) -> None:
        """Get the local engine ready for a first job (``core.warm_up``); servers need nothing."""
        self._local.lazy.warm_up(stop)

    def upscale(self, request: UpscaleRequest, on_step: StepCallback, cancelled: threading.Event) -> UpscaleResult:
        """Upscale jobs run on this computer: the servers' graphs have no upscaler models."""
        engine: UpscaleBackend = self._local.lazy.get()  # type: ignore[assignment]
        if not hasattr(engine, "upscale"):
            raise ServerError("Upscaling needs the local engine, which this build does not have.")
        result = engine.upscale(request, on_step, cancelled)
        self._last_server = ""
        return result

    def status(self) -> BackendStatus:
        """The status of where the last job ran: a server, or the local engine (never made for this)."""
        servers = self.servers()
        last = next((s for s in servers if s.name == self._last_server), None)
        if last is not None:
            return last.status()
        engine = self._local.lazy.engine
        if engine is not None:
            return engine.status()
        if servers:
            return servers[0].status()
        return BackendStatus("cpu", "loads on first Generate", None, None, None)


class _ServerMember:
    """A server in the window's pool: it takes server model ids (of any server with that checkpoint)."""

    def __init__(self, backend: ComfyBackend) -> None:
        self.backend = backend

    @property
    def name(self) -> str:
        return self.backend.name

    def generate(
        self, request: GenerationRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> GenerationResult:
        parsed = parse_server_model(request.model)
        if parsed is None:
            return self.backend.generate(request, on_step, cancelled)
        # The server runs its checkpoint; the result keeps the id the user picked, so "reuse" picks it again.
        result = self.backend.generate(request.replace(model=self.checkpoint_for(request.model)), on_step, cancelled)
        return _with_model(result, request.model)

    def status(self) -> BackendStatus:
        return self.backend.status()

    def queue_length(self) -> int:
        return self.backend.queue_length()

    def checkpoint_for(self, model: str) -> str:
        parsed = parse_server_model(model)
        return self.backend.checkpoint_for(parsed[1] if parsed is not None else model)


def _with_model(result: GenerationResult, model: str) -> GenerationResult:
    return dataclasses.replace(result, request=result.request.replace(model=model))
