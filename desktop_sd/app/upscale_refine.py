"""The window's tiled refine: what the Upscale dialog chose, and the img2img request it runs.

As A1111's and InvokeAI's upscale tools do, the refine takes the prompt, negative prompt, model,
steps, CFG, scheduler, seed and add-ons from the prompt panel; the dialog adds only the strength
and the tiles. The engine runs it (``engine.tiled_refine``) for every local model family.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_sd.app.prompt_model import PromptValues
from desktop_sd.core.errors import InputError
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.upscaling import REFINE_OVERLAP, REFINE_STRENGTH, REFINE_TILE
from desktop_sd.remote.mixed import parse_server_model


@dataclass(frozen=True)
class RefineChoice:
    """The Upscale dialog's "Refine in tiles" settings."""

    strength: float = REFINE_STRENGTH.default
    tile_size: int = REFINE_TILE.default
    tile_overlap: int = REFINE_OVERLAP.default


@dataclass(frozen=True)
class UpscaleChoice:
    """What the Upscale dialog chose: the upscaler, the factor (None = the model's own) and the refine."""

    upscaler: str
    scale: float | None
    refine: RefineChoice | None = None


def refine_request(values: PromptValues, choice: RefineChoice) -> GenerationRequest:
    """The img2img request each tile runs, from the prompt panel's ``values``; refuses what cannot run here
    (the strength and tiles are checked with the whole job, ``core.upscaling.check_upscale``)."""
    if not values.model:
        raise InputError("Refine in tiles uses the prompt panel's model: choose a model there first.")
    server = parse_server_model(values.model)
    if server is not None:
        raise InputError(
            f"Refine in tiles runs on this computer, and {server[1]} is a checkpoint of the server {server[0]}. "
            "Choose a local model in the prompt panel, or upscale without the refine."
        )
    # The engine sets the tile size; batch and hires fix do not apply to a tile.
    return values.to_request().replace(mode=Mode.IMG2IMG, strength=choice.strength, batch_size=1, hires_scale=1.0)
