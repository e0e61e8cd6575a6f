"""A stand-in for the engine: same ``Backend`` protocol, no torch, fully controllable from a test."""

from __future__ import annotations

import threading
import time

from PIL import Image

from desktop_sd.core.backend import BackendStatus, StepCallback
from desktop_sd.core.errors import Cancelled
from desktop_sd.core.params import batch_seeds
from desktop_sd.core.request import GenerationRequest, GenerationResult, MemoryTier

COLOURS = ((200, 40, 40), (40, 160, 60), (40, 60, 200), (220, 200, 40))


class FakeBackend:
    """Makes solid-colour images of the requested size, one step at a time.

    With ``gated=True`` every step waits for a permit from ``allow(n)``, so a
    test decides exactly when steps happen. ``fail_with`` raises on the next job.
    """

    def __init__(self, gated: bool = False, previews: bool = True) -> None:
        self.gated = gated
        self.previews = previews
        self.permits = threading.Semaphore(0)
        self.fail_with: BaseException | None = None
        self.requests: list[GenerationRequest] = []
        self.thread_names: list[str] = []

    def allow(self, steps: int = 1) -> None:
        for _ in range(steps):
            self.permits.release()

    def generate(
        self, request: GenerationRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> GenerationResult:
        self.requests.append(request)
        self.thread_names.append(threading.current_thread().name)
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        size = (request.width, request.height)
        for step in range(1, request.steps + 1):
            if self.gated:
                self._wait_for_permit(cancelled)
            if cancelled.is_set():
                raise Cancelled("cancelled")
            preview = Image.new("RGB", (max(8, size[0] // 8), max(8, size[1] // 8)), (step * 10 % 255, 0, 0))
            on_step(step, request.steps, preview if self.previews else None)
        seed = request.seed if request.seed is not None else 1234
        seeds = batch_seeds(seed, request.batch_size)
        images = tuple(Image.new("RGB", size, COLOURS[i % len(COLOURS)]) for i in range(request.batch_size))
        return GenerationResult(
            images, request.replace(seed=seed), seeds, request.model or "fake", "cpu", MemoryTier.GPU, elapsed_s=0.01
        )

    def _wait_for_permit(self, cancelled: threading.Event) -> None:
        """Block until the test allows a step; a cancel ends the wait, as a real step would end soon."""
        deadline = time.monotonic() + 30
        while not self.permits.acquire(timeout=0.01):
            if cancelled.is_set():
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the test never allowed the step")

    def status(self) -> BackendStatus:
        return BackendStatus("cpu", "Fake CPU", MemoryTier.GPU, "fake", None)
