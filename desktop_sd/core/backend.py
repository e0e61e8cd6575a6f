"""The interface between the app and whatever generates images.

The worker thread (``app``) holds a ``Backend``; the composition root hands
it the real engine, tests may hand it a fake. ``app`` and ``ui`` never import
``engine`` itself, so torch stays off the GUI's start-up path.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from desktop_sd.core.request import GenerationRequest, GenerationResult, MemoryTier


class StepCallback(Protocol):
    def __call__(self, step: int, total: int, preview: Image.Image | None) -> None: ...


@dataclass(frozen=True)
class BackendStatus:
    device: str  # "cuda", "mps", "cpu"
    device_name: str  # e.g. "NVIDIA GeForce RTX 3060" or "CPU"
    tier: MemoryTier | None  # tier of the loaded model, None when none is loaded
    model_id: str | None
    free_vram_mb: int | None


class Backend(Protocol):
    def generate(
        self,
        request: GenerationRequest,
        on_step: StepCallback,
        cancelled: threading.Event,
    ) -> GenerationResult:
        """Run one request. Raises ``Cancelled`` or a ``DesktopSDError``."""
        ...

    def status(self) -> BackendStatus: ...


_phase = threading.local()


@contextlib.contextmanager
def phase_listener(on_phase: Callable[[str], None]) -> Iterator[None]:
    """While inside, ``report_phase`` calls on this thread reach ``on_phase`` (the worker's, around a job)."""
    previous = getattr(_phase, "listener", None)
    _phase.listener = on_phase
    try:
        yield
    finally:
        _phase.listener = previous


def report_phase(text: str) -> None:
    """Say what a job is doing between its steps ("Loading the model: unet (3 of 6)…", "Encoding the
    prompt…"), from the thread that runs it. Without a listener, nothing happens."""
    listener = getattr(_phase, "listener", None)
    if listener is not None:
        listener(text)
