"""Cancel inside a step: the cancel flag is checked before every block of the UNet and the VAE.

diffusers only offers a callback at the end of a step. At large sizes on the
CPU a single step or the VAE decode takes minutes, so a cancel checked only
there is not felt. A forward pre-hook on each ResNet, transformer and
up/down-sampling block raises ``Cancelled`` as soon as the flag is set: a
few dozen checks a step, each a Python call, so nothing measurable at normal
sizes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import torch

from desktop_sd.core.errors import Cancelled

# Building blocks of the diffusers UNets and VAEs, each a meaningful unit of work.
BLOCK_CLASSES = frozenset({"ResnetBlock2D", "Transformer2DModel", "Downsample2D", "Upsample2D", "Attention"})


def blocks(models: Iterable[torch.nn.Module | None]) -> list[torch.nn.Module]:
    """The blocks of ``models`` that get a cancel check."""
    return [m for model in models if model is not None for m in model.modules() if type(m).__name__ in BLOCK_CLASSES]


@contextlib.contextmanager
def interruptible(models: Iterable[torch.nn.Module | None], cancelled: threading.Event) -> Iterator[None]:
    """While inside, running any block of ``models`` raises ``Cancelled`` once ``cancelled`` is set."""

    def check(_module: torch.nn.Module, _inputs: Any) -> None:
        if cancelled.is_set():
            raise Cancelled("Cancelled.")

    handles = [block.register_forward_pre_hook(check) for block in blocks(models)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
