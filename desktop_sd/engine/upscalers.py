"""Upscaler models (ESRGAN, Real-ESRGAN, SwinIR, HAT, DAT, ...) loaded with spandrel and run in tiles.

spandrel detects the architecture from the weights' names and shapes, so any file it knows works
without a config. Only weights are read: ``.safetensors`` as is, ``.pth`` with torch's restricted
unpickler (``weights_only``), which refuses a pickle that asks for anything but tensors and
containers before any of it runs. TorchScript ``.pt`` files are programs, so they are refused.

The image goes through the network in overlapping tiles (``engine.tiling``) blended without seams,
so a 4x of a 2048 px image needs a few hundred MB of device memory; a tile that still runs out of
memory is retried at half the size.
"""

from __future__ import annotations

import pickle
import re
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from safetensors import SafetensorError
from safetensors.torch import load_file
from spandrel import MAIN_REGISTRY, ImageModelDescriptor, UnsupportedModelError, canonicalize_state_dict

from desktop_sd.core.errors import Cancelled, ModelError, OutOfMemoryError
from desktop_sd.core.upscaling import UPSCALER_SUFFIXES
from desktop_sd.engine import device as devices
from desktop_sd.engine import tiling
from desktop_sd.engine.device import Device

# How torch's weights-only unpickler names a global it refused ("unsupported GLOBAL posix.system").
_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")
TileCallback = Callable[[int, int], None]  # (tiles done, tiles in all)

DEFAULT_TILE = 256
DEFAULT_OVERLAP = 32
SMALLEST_TILE = 32


def _state_dict(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in UPSCALER_SUFFIXES:
        raise ModelError(
            f"{path.name} is not an upscaler file Desktop SD can read: use a .pth or .safetensors upscaler "
            "(TorchScript .pt files are programs and are not loaded)."
        )
    try:
        if suffix == ".safetensors":
            return dict(load_file(str(path), device="cpu"))
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = _GLOBAL.search(str(exc))
        if found is None:  # not a code request: a damaged or foreign file
            raise ModelError(f"{path.name} is not a readable upscaler file. Download or copy it again.") from None
        raise ModelError(
            f"{path.name} was refused: it asks to run code ({found.group(1)}), not just load weights. Nothing "
            "from it was run. Get a .safetensors version of this upscaler, or the original .pth from its authors."
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, SafetensorError, ValueError) as exc:
        raise ModelError(
            f"{path.name} is not a readable upscaler file ({str(exc).splitlines()[0] if str(exc) else exc}). "
            "Download or copy it again."
        ) from None
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if not isinstance(loaded, dict):
        raise ModelError(f"{path.name} holds no upscaler weights.")
    return loaded


def load_upscaler(path: Path) -> ImageModelDescriptor[Any]:
    """The upscaler in ``path``, on the CPU in float32. Raises ``ModelError`` with what to do."""
    state = canonicalize_state_dict(_state_dict(path))
    try:
        model = MAIN_REGISTRY.load(state)
    except UnsupportedModelError:
        raise ModelError(
            f"{path.name} is not an upscaler architecture Desktop SD knows (ESRGAN, Real-ESRGAN, SwinIR, HAT, DAT "
            "and others spandrel supports). Check that it is an image upscaler model."
        ) from None
    except (RuntimeError, KeyError, ValueError, IndexError) as exc:
        raise ModelError(f"{path.name} looks like an upscaler but its weights do not fit ({exc}).") from None
    if not isinstance(model, ImageModelDescriptor) or model.purpose != "SR":
        raise ModelError(
            f"{path.name} is a {model.architecture.name} model for {model.purpose.lower()}, not an upscaler."
        )
    if model.input_channels != 3 or model.output_channels != 3:
        raise ModelError(f"{path.name} works on {model.input_channels}-channel images; only RGB upscalers are used.")
    return model.eval()


class UpscalerCache:
    """Keeps the last upscaler used loaded (they are small; loading one takes longer than a tile)."""

    def __init__(self) -> None:
        self._key: tuple[str, int, int] | None = None
        self._model: ImageModelDescriptor[Any] | None = None
        self._lock = threading.Lock()

    def get(self, path: Path) -> ImageModelDescriptor[Any]:
        try:
            stat = path.stat()
        except OSError as exc:
            raise ModelError(f"The upscaler {path} cannot be read: {exc.strerror or exc}.") from None
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._key != key or self._model is None:
                self._model, self._key = None, None
                self._model, self._key = load_upscaler(path), key
            return self._model


def _to_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def _to_image(pixels: torch.Tensor) -> Image.Image:
    array = (pixels.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(array, "RGB")


def _dtype(model: ImageModelDescriptor[Any], device: Device) -> torch.dtype:
    return torch.float16 if device.kind != "cpu" and model.supports_half else torch.float32


def run_tiled(
    model: ImageModelDescriptor[Any],
    image: Image.Image,
    device: Device,
    cancelled: threading.Event,
    on_tile: TileCallback | None = None,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
) -> Image.Image:
    """``image`` through ``model`` once (its own scale), tile by tile; out of memory halves the tile."""
    source = _to_tensor(image)
    dtype = _dtype(model, device)
    model.to(device.torch_device, dtype)
    try:
        while True:
            try:
                return _run_tiles(model, source, device, dtype, cancelled, on_tile, tile, min(overlap, tile // 4))
            except Exception as exc:
                if not devices.is_out_of_memory(exc) or tile // 2 < SMALLEST_TILE:
                    if devices.is_out_of_memory(exc):
                        raise OutOfMemoryError(
                            "The upscaler ran out of memory even in small tiles. Close other programs that use "
                            "the GPU, or run it on the CPU."
                        ) from None
                    raise
            devices.free_caches(device)
            tile //= 2
    finally:
        model.to("cpu", torch.float32)
        devices.free_caches(device)


def _run_tiles(
    model: ImageModelDescriptor[Any],
    source: torch.Tensor,
    device: Device,
    dtype: torch.dtype,
    cancelled: threading.Event,
    on_tile: TileCallback | None,
    tile: int,
    overlap: int,
) -> Image.Image:
    _, height, width = source.shape
    scale = model.scale
    parts = tiling.tiles(width, height, tile, overlap)
    blender = tiling.Blender(3, width * scale, height * scale, overlap * scale)
    for done, part in enumerate(parts):
        if cancelled.is_set():
            raise Cancelled("Cancelled.")
        crop = source[:, part.top : part.top + part.height, part.left : part.left + part.width]
        with torch.inference_mode():
            out = model(crop.unsqueeze(0).to(device.torch_device, dtype))[0]
        blender.add(tiling.scaled(part, scale), out.float().cpu())
        if on_tile is not None:
            on_tile(done + 1, len(parts))
    return _to_image(blender.result())


def resize(image: Image.Image, size: tuple[int, int], method: str = "lanczos") -> Image.Image:
    """A plain resample (what the "Lanczos" and "Nearest" upscalers do, and what fits a model's own scale
    to the scale asked for)."""
    if image.size == size:
        return image
    resample = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR}.get(
        method, Image.Resampling.LANCZOS
    )
    return image.convert("RGB").resize(size, resample)


def upscale_with_model(
    model: ImageModelDescriptor[Any],
    image: Image.Image,
    scale: float,
    device: Device,
    cancelled: threading.Event,
    on_tile: TileCallback | None = None,
    tile: int = DEFAULT_TILE,
) -> Image.Image:
    """``image`` made ``scale`` times larger with ``model``: passes at the model's own scale until it is
    large enough (as A1111 does), then Lanczos down to the exact size."""
    target = (round(image.width * scale), round(image.height * scale))
    current = image.convert("RGB")
    while current.width < target[0] or current.height < target[1]:
        current = run_tiled(model, current, device, cancelled, on_tile, tile)
        if model.scale == 1:
            break
    return resize(current, target)
