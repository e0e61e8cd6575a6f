"""The interface between the app and whatever generates images.

The worker thread (``app``) holds a ``Backend``; the composition root hands
it the real engine, tests may hand it a fake. ``app`` and ``ui`` never import
``engine`` itself, so torch stays off the GUI's start-up path.
"""

from __future__ import annotations

import threading
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
