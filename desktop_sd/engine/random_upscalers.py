"""Tiny random-weight upscaler files for tests and the self-test, built from spandrel's own architectures.

Saved the way real ones are shared (a ``.pth`` state dict, or ``.safetensors``), so loading goes
through the same detection from the weights' names and shapes as a downloaded model's.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact
from spandrel.architectures.ESRGAN import ESRGAN


def save_tiny_upscaler(path: Path, kind: str = "esrgan", scale: int = 2, seed: int = 0) -> Path:
    """Write a tiny ``kind`` ("esrgan": RRDBNet, or "compact": Real-ESRGAN's SRVGG) upscaler to ``path``
    (``.pth`` or ``.safetensors``); returns ``path``."""
    torch.manual_seed(seed)
    if kind == "esrgan":
        net: torch.nn.Module = ESRGAN(num_filters=8, num_blocks=1, scale=scale)
    elif kind == "compact":
        net = Compact(num_feat=8, num_conv=2, upscale=scale)
    else:
        raise ValueError(f"unknown tiny upscaler kind {kind!r}")
    state = {key: value.contiguous() for key, value in net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path
