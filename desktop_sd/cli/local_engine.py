"""The local engine as the app runs it: the model resolver and every add-on finder wired in.

One place for the window, ``generate`` and ``upscale``, so each finds the same
LoRAs, embeddings, VAEs, upscalers and preview decoders. Importing this module
is cheap; calling ``local_engine`` imports torch. The window's worker gets a
``LocalEngineFactory``, which also warms the engine up before its first job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop_sd.core.warm_up import import_in_steps

if TYPE_CHECKING:
    from desktop_sd.engine import Engine
    from desktop_sd.engine.speed import SpeedOptions

# What a first job imports, in steps of a second or less (a slow machine): quitting during the warm-up waits
# for one of them at most. ``desktop_sd.engine`` imports all of it in the end; the steps before it only
# split the work, so a name that moves in a later release of a library costs nothing but granularity.
ENGINE_MODULES = (
    "torch",
    "torch._dynamo",
    "transformers",
    "transformers.modeling_utils",
    "torchvision",
    "peft",
    "diffusers",
    "diffusers.models.modeling_utils",
    "diffusers.models.unets",
    "diffusers.models.autoencoders",
    "spandrel",
    "desktop_sd.engine",
    "diffusers.guiders",  # imported by a pipeline's first run
    "desktop_sd.models.resolve",
    "desktop_sd.models.addons",
    "desktop_sd.models.embeddings",
    "desktop_sd.models.upscalers",
)


def local_engine(device: str = "auto", speed: SpeedOptions | None = None) -> Engine:
    """An engine on ``device`` ("auto": the best one here); ``speed`` None keeps the engine's float32 default."""
    from desktop_sd.engine import Engine
    from desktop_sd.models import upscalers
    from desktop_sd.models.addons import addon_path
    from desktop_sd.models.embeddings import embedding_files
    from desktop_sd.models.registry import Registry
    from desktop_sd.models.resolve import resolve_model

    registry = Registry()
    return Engine(
        resolve=resolve_model,
        device=device,
        find_taesd=registry.taesd_path,
        find_addon=addon_path,
        list_embeddings=embedding_files,
        find_upscaler=upscalers.finder(registry.folders),
        speed_options=speed,
    )


@dataclass(frozen=True)
class LocalEngineFactory:
    """Makes the local engine on the worker thread (its first job), and warms it up before that.

    ``speed`` is asked when the engine is made (the window reads the settings file then).
    ``warm_up`` imports what a job needs, in ``ENGINE_MODULES`` steps, and makes no engine and
    loads no model (``core.warm_up``).
    """

    device: str = "auto"
    speed: Callable[[], SpeedOptions | None] | None = None

    def __call__(self) -> Engine:
        return local_engine(self.device, self.speed() if self.speed is not None else None)

    def warm_up(self, stop: threading.Event) -> None:
        import_in_steps(ENGINE_MODULES, stop)
