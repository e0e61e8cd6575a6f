"""How long a job will take, from the pace of the jobs before it, to warn before a very long one starts.

The pace is seconds per step per megapixel (batch included), measured per
model and device on each finished job; the first job of a model on the CPU,
with nothing measured yet, is judged by its size alone.
"""

from __future__ import annotations

from desktop_sd.core.request import GenerationRequest

LONG_JOB_S = 5 * 60  # past this, the user is asked before the job starts
CPU_LARGE_MEGAPIXELS = 2.0  # unmeasured CPU jobs past this many megapixels (batch included) are asked about


def megapixels(request: GenerationRequest) -> float:
    return request.width * request.height * request.batch_size / 1e6


class Pace:
    def __init__(self) -> None:
        self._s_per_step_mp: dict[tuple[str, str], float] = {}

    def record(self, model: str, device: str, request: GenerationRequest, seconds: float) -> None:
        """A job of ``request`` took ``seconds`` (loading included, so estimates err on the long side)."""
        work = request.steps * megapixels(request)
        if work > 0 and seconds > 0:
            self._s_per_step_mp[(model, device)] = seconds / work

    def estimate_s(self, model: str, device: str, request: GenerationRequest) -> float | None:
        pace = self._s_per_step_mp.get((model, device))
        return None if pace is None else pace * request.steps * megapixels(request)

    def warning(self, model: str, device: str, request: GenerationRequest) -> str | None:
        """What to tell the user before starting ``request``, or None when it looks reasonable."""
        seconds = self.estimate_s(model, device, request)
        size = f"{request.width}×{request.height}" + (f" × {request.batch_size}" if request.batch_size > 1 else "")
        if seconds is not None and seconds > LONG_JOB_S:
            return (
                f"{size} at {request.steps} steps will take about {round(seconds / 60)} min on this "
                f"{'CPU' if device == 'cpu' else 'device'}, judging by your last job. A smaller size (then "
                "upscaling) or fewer steps is much faster."
            )
        if seconds is None and device == "cpu" and megapixels(request) > CPU_LARGE_MEGAPIXELS:
            return (
                f"{size} is large for the CPU: each step can take minutes, and memory may run short. "
                "A smaller size (then upscaling) is much faster."
            )
        return None
