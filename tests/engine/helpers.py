"""Helpers shared by the engine tests: running a request, comparing pixels, test pictures."""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from desktop_sd.core.request import GenerationRequest, GenerationResult
from desktop_sd.engine import Engine

Steps = list[tuple[int, int, Image.Image | None]]


def run(engine: Engine, request: GenerationRequest, steps: Steps | None = None) -> GenerationResult:
    """Generate with a step recorder and a fresh cancel flag."""
    record = steps if steps is not None else []
    return engine.generate(
        request, lambda step, total, preview: record.append((step, total, preview)), threading.Event()
    )


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def max_diff(a: Image.Image, b: Image.Image) -> int:
    return int(np.abs(pixels(a) - pixels(b)).max())


def gradient(size: tuple[int, int] = (64, 64)) -> Image.Image:
    """A smooth, non-uniform RGB test picture."""
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None].repeat(w, 1)
    rgb = np.stack([x, y, 255 - (x + y) / 2], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def box_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    mask = Image.new("L", size, 0)
    mask.paste(255, box)
    return mask
