"""The local engine as the app runs it: the model resolver and every add-on finder wired in.

One place for the window, ``generate`` and ``upscale``, so each finds the same
LoRAs, embeddings, VAEs, upscalers and preview decoders. Importing this module
is cheap; calling ``local_engine`` imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop_sd.engine import Engine
    from desktop_sd.engine.speed import SpeedOptions


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
