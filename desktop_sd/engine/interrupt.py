"""Cancel inside a step, and between a model's components while it loads.

Inside a step: the cancel flag is checked before every block of the UNet and the VAE.

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
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from diffusers.utils import logging as diffusers_logging

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


LOADING = "Loading pipeline components..."  # what diffusers' from_pretrained and from_single_file call their loop


@contextlib.contextmanager
def between_components(on_component: Callable[[int, int, str], None]) -> Iterator[None]:
    """While inside, ``on_component(k, n, name)`` runs before diffusers loads each pipeline component.

    Both of diffusers' loaders walk the components through ``diffusers.utils.logging.tqdm`` with the
    description above, and nothing else: that is the one place to hear of each. ``on_component`` may
    raise ``Cancelled`` to stop the load there. With another diffusers, if the description changes,
    loading simply runs through unheard.
    """
    original = diffusers_logging.tqdm

    def tqdm(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("desc") != LOADING or not args:
            return original(*args, **kwargs)
        items = list(args[0])

        def components() -> Iterator[Any]:
            for index, item in enumerate(items):
                name = item[0] if isinstance(item, tuple) and item else ""
                on_component(index, len(items), str(name))
                yield item

        return components()

    diffusers_logging.tqdm = tqdm
    try:
        yield
    finally:
        diffusers_logging.tqdm = original
