"""An upscale job on the engine: an upscaler model (or Lanczos), then optionally a tiled img2img refine.

Progress goes out per tile through the job's step callback (``step`` = tiles done), so the app's
progress bar and the command line show tiles; the cancel flag is checked between tiles and inside
each refine step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop_sd.core import paths
from desktop_sd.core.backend import StepCallback, report_phase
from desktop_sd.core.errors import Cancelled, ModelError
from desktop_sd.core.images import normalize_image
from desktop_sd.core.upscaling import (
    NEAREST,
    PIXEL_BUILTINS,
    UPSCALER_SUFFIXES,
    UpscaleRequest,
    UpscaleResult,
    check_upscale,
)
from desktop_sd.engine import device as devices
from desktop_sd.engine import tiled_refine, upscalers
from desktop_sd.engine.passes import PassRunner

UpscalerFinder = Callable[[str], Path]


def find_in_models_folder(name: str) -> Path:
    """Without a finder from the model registry: ``name`` as a path, or a file so named in
    ``<models>/upscalers``."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    folder = paths.models_dir() / "upscalers"
    if folder.is_dir():
        for candidate in sorted(folder.iterdir()):
            if candidate.suffix.lower() in UPSCALER_SUFFIXES and name in (candidate.stem, candidate.name):
                return candidate
    raise ModelError(f"No upscaler named {name!r}. Put its .pth or .safetensors file in {folder}, or choose Lanczos.")


class Upscalers:
    """Upscaler models by name: found by the injected finder, the last one kept loaded."""

    def __init__(self, find: UpscalerFinder | None = None) -> None:
        self._find = find or find_in_models_folder
        self._cache = upscalers.UpscalerCache()

    def model(self, name: str) -> Any:
        return self._cache.get(self._find(name))


def run(
    engine: PassRunner, request: UpscaleRequest, on_step: StepCallback, cancelled: threading.Event
) -> UpscaleResult:
    """Run one upscale request (see ``UpscaleRequest``)."""
    started = time.perf_counter()
    check_upscale(request)
    image, notices = normalize_image(request.image)
    device = devices.pick_device(request.device)

    def on_tile(done: int, total: int) -> None:
        on_step(done, total, None)

    if request.upscaler in PIXEL_BUILTINS:
        scale = request.scale or 2.0
        target = (round(image.width * scale), round(image.height * scale))
        enlarged = upscalers.resize(image, target, "nearest" if request.upscaler == NEAREST else "lanczos")
    else:
        report_phase(f"Loading the upscaler {request.upscaler}…")
        net = engine.upscaler_model(request.upscaler)
        if cancelled.is_set():
            raise Cancelled("Cancelled.")
        scale = request.scale or float(net.scale)
        report_phase(f"Upscaling with {request.upscaler}…")
        enlarged = upscalers.upscale_with_model(net, image, scale, device, cancelled, on_tile)
    refined = None
    if request.refine is not None:
        refined = tiled_refine.refine(engine, enlarged, request, on_step, cancelled, notices)
        enlarged = refined.image
    return UpscaleResult(
        image=enlarged,
        request=request,
        scale=scale,
        device=device.kind,
        notices=tuple(notices),
        elapsed_s=time.perf_counter() - started,
        refine=refined.request if refined else None,
        tiles=refined.tiles if refined else 0,
        model_hash=refined.model_hash if refined else "",
        lora_hashes=refined.lora_hashes if refined else (),
        vae_hash=refined.vae_hash if refined else "",
    )
