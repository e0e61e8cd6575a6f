"""An upscale job's run on the worker thread (the backend's ``upscale``, its result as a ``GenerationResult``),
and where an enlarged result goes on the canvas.

Kept apart from ``app.upscale_jobs`` (which queues them) so the job queue's worker can call it
without importing the queue's users.
"""

from __future__ import annotations

from threading import Event

from PySide6.QtCore import QRect, QSize

from desktop_sd.core import hires
from desktop_sd.core.backend import Backend, StepCallback
from desktop_sd.core.errors import DesktopSDError
from desktop_sd.core.request import GenerationRequest, GenerationResult, MemoryTier
from desktop_sd.core.upscaling import UpscaleBackend, UpscaleRequest
from desktop_sd.library.upscaled import postprocessing_text, upscaled_request


def run_upscale(
    backend: Backend, upscale_request: UpscaleRequest, shown: GenerationRequest, on_step: StepCallback, cancelled: Event
) -> GenerationResult:
    """Run an upscale job on ``backend`` (on the worker thread); ``shown`` is the request of the source image."""
    upscale = getattr(backend, "upscale", None)
    if upscale is None:
        raise DesktopSDError("Upscaling runs on this computer only; the ComfyUI server in use cannot run it.")
    runner: UpscaleBackend = backend  # type: ignore[assignment]
    result = runner.upscale(upscale_request, on_step, cancelled)
    request = upscaled_request(result, shown)
    return GenerationResult(
        images=(result.image,),
        request=request,
        seeds=(request.seed,) if request.seed is not None else (),
        model_id=request.model,
        device=result.device,
        tier=MemoryTier.GPU,
        notices=result.notices,
        elapsed_s=result.elapsed_s,
        postprocessing=postprocessing_text(result),
        model_hash=result.model_hash,
        lora_hashes=result.lora_hashes,
        vae_hash=result.vae_hash,
    )


def sized_frame(frame: QRect, result: GenerationResult, upscale: bool) -> QRect:
    """Where a result goes on the canvas: its frame, grown to the image's own size for an upscale or a
    hires fix result (so applying it keeps every pixel instead of scaling it back into the frame)."""
    if not result.images or not (upscale or hires.wanted(result.request)):
        return frame
    width, height = result.images[0].size
    return QRect(frame.topLeft(), QSize(width, height))
