"""Upscalers by name: the built-in resamplers and which files count as upscaler models.

Shared by the engine (which runs them), the model registry (which lists them) and the command
line. A request names an upscaler by one of the built-in names or by a model name the app's
resolver turns into a file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from desktop_sd.core.backend import StepCallback
from desktop_sd.core.errors import InputError
from desktop_sd.core.images import MAX_INPUT_PIXELS
from desktop_sd.core.params import NumberParam, number_text
from desktop_sd.core.request import GenerationRequest

UPSCALER_SUFFIXES = (".pth", ".safetensors")

LANCZOS = "Lanczos"
NEAREST = "Nearest"
PIXEL_BUILTINS = (LANCZOS, NEAREST)  # plain resamples, no model

# Hires fix only: the latents themselves are enlarged (A1111's "Latent" is bilinear).
LATENT = "Latent"
LATENT_NEAREST = "Latent (nearest-exact)"
LATENT_BUILTINS = (LATENT, LATENT_NEAREST)


def is_builtin(name: str) -> bool:
    return name in PIXEL_BUILTINS or name in LATENT_BUILTINS


def is_latent(name: str) -> bool:
    return name in LATENT_BUILTINS


UPSCALE_SCALE = NumberParam(
    name="scale",
    label="Upscale factor",
    default=4.0,
    minimum=1.0,
    maximum=8.0,
    step=0.5,
    decimals=1,
    flag="--scale",
    help="how many times larger the image becomes",
)
REFINE_TILE = NumberParam(
    name="tile_size",
    label="Refine tile",
    default=512,
    minimum=64,
    maximum=2048,
    step=8,
    flag="--tile",
    help="tiled refine: the side of each img2img tile",
    unit="pixels",
    suffix=" px",
)
REFINE_OVERLAP = NumberParam(
    name="tile_overlap",
    label="Refine tile overlap",
    default=64,
    minimum=0,
    maximum=256,
    step=8,
    flag="--tile-overlap",
    help="tiled refine: pixels neighbouring tiles share, blended without a seam",
    unit="pixels",
    suffix=" px",
)

REFINE_STRENGTH = NumberParam(
    name="strength",
    label="Refine strength",
    default=0.35,  # Ultimate SD Upscale's usual: adds detail, keeps the picture
    minimum=0.01,
    maximum=1.0,
    step=0.05,
    decimals=2,
    flag="--strength",
    help="tiled refine: how much each tile changes",
)


@dataclass(frozen=True, eq=False)
class UpscaleRequest:
    """One upscale job: ``image`` made ``scale`` times larger with ``upscaler`` (a model's name or a
    built-in resampler; ``scale`` None = the model's own factor). With ``refine`` (an img2img request
    giving the model, prompt, steps, strength, seed...), the enlarged image is then refined tile by
    tile (Ultimate SD Upscale style)."""

    image: Image.Image = field(repr=False)
    upscaler: str
    scale: float | None = None
    device: str = "auto"
    refine: GenerationRequest | None = None
    tile_size: int = REFINE_TILE.default
    tile_overlap: int = REFINE_OVERLAP.default


@dataclass(frozen=True, eq=False)
class UpscaleResult:
    """The enlarged image and what ran: ``scale`` is the factor really applied; ``refine`` the refine
    request as run (its seed drawn), or None."""

    image: Image.Image
    request: UpscaleRequest
    scale: float
    device: str
    notices: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    refine: GenerationRequest | None = None
    tiles: int = 0
    model_hash: str = ""  # the refine's checkpoint, LoRAs and VAE, for the metadata (as a generation's)
    lora_hashes: tuple[tuple[str, str], ...] = ()
    vae_hash: str = ""

    def postprocess_pairs(self) -> list[tuple[str, str]]:
        """A1111's extras keys for what was done: ``Postprocess upscale by``, ``Postprocess upscaler``."""
        return [
            ("Postprocess upscale by", number_text(round(self.scale, 4))),
            ("Postprocess upscaler", self.request.upscaler),
        ]


def check_upscale(request: UpscaleRequest) -> None:
    """Refuse a factor out of range, a result larger than images may be, or bad tile settings."""
    if request.scale is not None and not UPSCALE_SCALE.accepts(request.scale):
        raise InputError(
            f"{UPSCALE_SCALE.label} must be between {number_text(UPSCALE_SCALE.minimum)} and "
            f"{number_text(UPSCALE_SCALE.maximum)}, got {request.scale}."
        )
    if not request.upscaler.strip():
        raise InputError("Choose an upscaler: Lanczos, or an upscaler model's name.")
    if is_latent(request.upscaler):
        raise InputError(f"{request.upscaler} works only inside the hires fix; choose Lanczos or an upscaler model.")
    if request.scale is not None:
        width, height = round(request.image.width * request.scale), round(request.image.height * request.scale)
        if width * height > MAX_INPUT_PIXELS:
            raise InputError(
                f"The upscaled image would be {width}x{height}, more than {MAX_INPUT_PIXELS // 1_000_000} "
                "megapixels. Choose a smaller factor."
            )
    for spec in (REFINE_TILE, REFINE_OVERLAP):
        value = getattr(request, spec.name)
        if not spec.accepts(value):
            raise InputError(f"{spec.label} must be between {spec.minimum} and {spec.maximum} pixels, got {value}.")
    if request.tile_overlap * 2 >= request.tile_size:
        raise InputError("The refine tile overlap must be less than half the tile size.")
    if request.refine is not None and not REFINE_STRENGTH.accepts(request.refine.strength):
        raise InputError(
            f"{REFINE_STRENGTH.label} must be between {number_text(REFINE_STRENGTH.minimum)} and "
            f"{number_text(REFINE_STRENGTH.maximum)}, got {request.refine.strength}."
        )


class UpscaleBackend(Protocol):
    """A backend that can run upscale jobs (the local engine; a ComfyUI server cannot)."""

    def upscale(self, request: UpscaleRequest, on_step: StepCallback, cancelled: threading.Event) -> UpscaleResult:
        """Run one upscale request. Raises ``Cancelled`` or a ``DesktopSDError``."""
        ...
