"""Every generation parameter declared once: its default, range, step and how it is shown.

The validator (``core.validation``), the request's defaults, the prompt panel's spin
boxes and its saved values, the command line's options and the metadata reader all
read these declarations (as ComfyUI's ``INPUT_TYPES``), so a range or a default is
changed here and nowhere else. ``name`` is the field's name in ``GenerationRequest``
and ``PromptValues``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from desktop_sd.core.schedulers import SCHEDULER_IDS

N = TypeVar("N", int, float)


class Kind(StrEnum):
    INT = "int"
    FLOAT = "float"
    TEXT = "str"
    CHOICE = "choice"


@dataclass(frozen=True)
class NumberParam(Generic[N]):
    """A number in ``minimum..maximum`` (both included); whole when the default is an ``int``."""

    name: str
    label: str  # starts messages: "Steps must be between ..."
    default: N
    minimum: N
    maximum: N
    step: N  # a spin box's arrow step (width and height must also be multiples of it)
    flag: str  # the command-line option
    help: str  # command-line help and tooltip, starting in lower case
    decimals: int = 0  # digits a spin box shows after the point
    unit: str = ""  # in messages and help: "pixels"
    suffix: str = ""  # after a spin box's number: " px"

    @property
    def kind(self) -> Kind:
        return Kind.INT if isinstance(self.default, int) else Kind.FLOAT

    @property
    def tooltip(self) -> str:
        return self.help[:1].upper() + self.help[1:]

    def accepts(self, value: float) -> bool:
        return self.minimum <= value <= self.maximum

    def clamp(self, value: float) -> N:
        """``value`` moved into the range, as this parameter's type (int or float)."""
        return type(self.default)(min(self.maximum, max(self.minimum, value)))


@dataclass(frozen=True)
class TextParam:
    """Free text, or one of ``choices`` when there are any."""

    name: str
    label: str
    default: str
    flag: str
    help: str
    choices: tuple[str, ...] = ()

    @property
    def kind(self) -> Kind:
        return Kind.CHOICE if self.choices else Kind.TEXT

    @property
    def tooltip(self) -> str:
        return self.help[:1].upper() + self.help[1:]


def number_text(value: float) -> str:
    """A bound as messages and help write it: ``30.0`` -> ``30``, ``0.75`` -> ``0.75``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


PROMPT = TextParam(name="prompt", label="Prompt", default="", flag="--prompt", help="what the image shows")
NEGATIVE_PROMPT = TextParam(
    name="negative_prompt", label="Negative prompt", default="", flag="--negative", help="what to keep out of the image"
)
# Larger sides than the maximum need far more memory than any consumer GPU has.
WIDTH = NumberParam(
    name="width", label="Width", default=512, minimum=64, maximum=4096, step=8,
    flag="--width", help="image width", unit="pixels", suffix=" px",
)
HEIGHT = NumberParam(
    name="height", label="Height", default=512, minimum=64, maximum=4096, step=8,
    flag="--height", help="image height", unit="pixels", suffix=" px",
)
STEPS = NumberParam(
    name="steps", label="Steps", default=20, minimum=1, maximum=500, step=1,
    flag="--steps", help="denoising steps: more take longer and add detail",
)
CFG_SCALE = NumberParam(
    name="cfg_scale", label="CFG scale", default=7.0, minimum=0.0, maximum=30.0, step=0.5, decimals=1,
    flag="--cfg", help="guidance scale: how closely the image follows the prompt",
)
# The default is where a fixed seed starts; a request with no seed draws one (``draw_seed``).
# The range is torch.Generator.manual_seed's (an unsigned 64-bit integer), which takes every
# seed A1111, ComfyUI and Fooocus write. Seeds are exact ints everywhere: never through a float.
SEED = NumberParam(
    name="seed", label="Seed", default=0, minimum=0, maximum=2**64 - 1, step=1,
    flag="--seed", help="the starting noise: a fixed seed repeats an image exactly",
)
SCHEDULER = TextParam(
    name="scheduler", label="Scheduler", default="default", choices=SCHEDULER_IDS,
    flag="--scheduler", help="the sampler",
)
STRENGTH = NumberParam(
    name="strength", label="Strength", default=0.75, minimum=0.01, maximum=1.0, step=0.05, decimals=2,
    flag="--strength", help="how much of the init image changes (1 = all of it)",
)
# The blend never reaches further than the maximum outside the mask.
MASK_FEATHER = NumberParam(
    name="mask_feather", label="Mask feather", default=4, minimum=0, maximum=8, step=1,
    flag="--feather", help="soft edge blended around the mask", unit="pixels", suffix=" px",
)
OUTPAINT_OVERLAP = NumberParam(
    name="outpaint_overlap", label="Outpaint overlap", default=8, minimum=0, maximum=64, step=1,
    flag="--overlap", help="pixels of the original repainted along each extended edge to hide the seam",
    unit="pixels", suffix=" px",
)
BATCH_SIZE = NumberParam(
    name="batch_size", label="Batch size", default=1, minimum=1, maximum=16, step=1,
    flag="--batch", help="images per job (seeds seed, seed+1, ...)",
)
# A1111's numbering: 1 reads the text encoder's last layer, 2 the one before it (the norm for
# anime models), and so on; CLIP ViT-L has 12 layers.
CLIP_SKIP = NumberParam(
    name="clip_skip", label="Clip skip", default=1, minimum=1, maximum=12, step=1,
    flag="--clip-skip", help="text encoder layers to skip, counted as A1111 does (1 = none; 2 for many anime models)",
)

# Hires fix (the prompt panel's "Hires" section): kept out of PARAMS, which is the main parameter rows;
# ``core.hires`` checks them. A scale of 1 means no hires pass.
HIRES_SCALE = NumberParam(
    name="hires_scale", label="Hires upscale", default=1.0, minimum=1.0, maximum=4.0, step=0.25, decimals=2,
    flag="--hires-scale", help="hires fix: upscale the image by this factor, then refine it (1 = off)",
)
HIRES_STEPS = NumberParam(
    name="hires_steps", label="Hires steps", default=0, minimum=0, maximum=500, step=1,
    flag="--hires-steps", help="hires fix: steps of the second pass (0 = as many as the first)",
)
HIRES_STRENGTH = NumberParam(
    name="hires_strength", label="Hires denoising strength", default=0.5, minimum=0.01, maximum=1.0, step=0.05,
    decimals=2, flag="--hires-strength", help="hires fix: how much the second pass changes the upscaled image",
)
HIRES_UPSCALER = TextParam(
    name="hires_upscaler", label="Hires upscaler", default="Latent", flag="--hires-upscaler",
    help="hires fix: Latent, Latent (nearest-exact), Lanczos, Nearest or an upscaler model's name",
)
HIRES_PARAMS = (HIRES_SCALE, HIRES_STEPS, HIRES_STRENGTH, HIRES_UPSCALER)
HIRES_NUMBER_PARAMS: dict[str, NumberParam[int] | NumberParam[float]] = {
    p.name: p for p in (HIRES_SCALE, HIRES_STEPS, HIRES_STRENGTH)
}

PARAMS: tuple[NumberParam[int] | NumberParam[float] | TextParam, ...] = (
    PROMPT,
    NEGATIVE_PROMPT,
    WIDTH,
    HEIGHT,
    STEPS,
    CFG_SCALE,
    SEED,
    SCHEDULER,
    STRENGTH,
    MASK_FEATHER,
    OUTPAINT_OVERLAP,
    BATCH_SIZE,
    CLIP_SKIP,
)
NUMBER_PARAMS: dict[str, NumberParam[int] | NumberParam[float]] = {
    p.name: p for p in PARAMS if isinstance(p, NumberParam)
}


def draw_seed() -> int:
    """A random seed from the whole range ``SEED`` accepts (the only place seeds are drawn)."""
    return SEED.minimum + secrets.randbelow(SEED.maximum - SEED.minimum + 1)


def batch_seeds(seed: int, count: int) -> tuple[int, ...]:
    """The seeds of a batch: ``seed, seed + 1, ...``, wrapping past ``SEED.maximum`` to 0, so that
    every recorded seed is one the range accepts."""
    span = SEED.maximum - SEED.minimum + 1
    return tuple(SEED.minimum + (seed - SEED.minimum + i) % span for i in range(count))
