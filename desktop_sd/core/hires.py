"""Hires fix, as A1111 calls it: generate at the base size, upscale, then refine with img2img.

The request keeps the base size in ``width``/``height`` (as A1111's ``Size`` does); the image
that comes back is ``hires_size`` large. The checks, the final size and the metadata keys live
here so that the engine, the metadata writer and reader, and the command line agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from desktop_sd.core.errors import InputError
from desktop_sd.core.params import HEIGHT, HIRES_SCALE, HIRES_STEPS, HIRES_STRENGTH, HIRES_UPSCALER, WIDTH, number_text
from desktop_sd.core.request import GenerationRequest, Mode

# A1111's keys in its ``parameters`` text.
KEY_SCALE = "Hires upscale"
KEY_STEPS = "Hires steps"
KEY_UPSCALER = "Hires upscaler"
KEY_STRENGTH = "Denoising strength"


def wanted(request: GenerationRequest) -> bool:
    """Whether the request asks for a hires pass (text-to-image with a scale above 1)."""
    return request.mode is Mode.TXT2IMG and request.hires_scale > HIRES_SCALE.minimum


def hires_size(request: GenerationRequest) -> tuple[int, int]:
    """The second pass's size: the base size times the scale, to a multiple of 8 (as A1111 rounds it)."""
    step = WIDTH.step
    return (
        max(step, round(request.width * request.hires_scale / step) * step),
        max(step, round(request.height * request.hires_scale / step) * step),
    )


def check_hires(request: GenerationRequest) -> None:
    """Refuse hires settings out of range or a final size larger than images may be."""
    for spec in (HIRES_SCALE, HIRES_STEPS, HIRES_STRENGTH):
        value = getattr(request, spec.name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not spec.accepts(value):
            raise InputError(
                f"{spec.label} must be between {number_text(spec.minimum)} and {number_text(spec.maximum)}, "
                f"got {value!r}."
            )
    if not request.hires_upscaler.strip():
        raise InputError(f"{HIRES_UPSCALER.label} is empty: choose Latent, Lanczos or an upscaler model.")
    if not wanted(request):
        return
    width, height = hires_size(request)
    if width > WIDTH.maximum or height > HEIGHT.maximum:
        raise InputError(
            f"Hires fix would make a {width}x{height} image; the largest is {WIDTH.maximum}x{HEIGHT.maximum}. "
            "Use a smaller hires upscale, or the tiled upscale for larger images."
        )


def a1111_pairs(request: GenerationRequest) -> list[tuple[str, str]]:
    """The hires keys A1111 writes (in its order), or none when there was no hires pass."""
    if not wanted(request):
        return []
    pairs = [(KEY_STRENGTH, number_text(round(request.hires_strength, 4)))]
    pairs.append((KEY_SCALE, number_text(round(request.hires_scale, 4))))
    if request.hires_steps:
        pairs.append((KEY_STEPS, str(request.hires_steps)))
    pairs.append((KEY_UPSCALER, request.hires_upscaler))
    return pairs


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value == value else None


def fields_from_a1111(extra: Mapping[str, str], strength: float | None) -> dict[str, Any]:
    """Request fields from the hires keys another tool wrote (``extra``); values out of range are left at
    their defaults. ``strength`` is the ``Denoising strength`` read with the other fields."""
    scale = _number(extra.get(KEY_SCALE))
    if scale is None or not HIRES_SCALE.accepts(scale):
        return {}
    fields: dict[str, Any] = {"hires_scale": scale}
    steps = _number(extra.get(KEY_STEPS))
    if steps is not None and steps.is_integer() and HIRES_STEPS.accepts(steps):
        fields["hires_steps"] = int(steps)
    if strength is not None and HIRES_STRENGTH.accepts(strength):
        fields["hires_strength"] = strength
    upscaler = (extra.get(KEY_UPSCALER) or "").strip()
    if upscaler:
        fields["hires_upscaler"] = upscaler
    return fields
