"""Checks on a request that need no model: done before anything is allocated."""

from __future__ import annotations

from desktop_sd.core.errors import InputError
from desktop_sd.core.request import MAX_FEATHER, GenerationRequest, Mode
from desktop_sd.core.schedulers import SCHEDULER_IDS

MIN_SIDE = 64
MAX_SIDE = 4096  # larger sides need far more memory than any consumer GPU has
MAX_BATCH = 16
MAX_STEPS = 500


def snap_to_8(value: int) -> int:
    return max(8, round(value / 8) * 8)


def check_request(request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
    """Validate and tidy a request. Returns the request to run and notices.

    Sizes that are not multiples of 8 are snapped (with a notice); sizes that
    are zero, negative or absurd are refused before any memory is allocated.
    """
    notices: list[str] = []
    changes: dict[str, object] = {}

    for name in ("width", "height"):
        value = getattr(request, name)
        if not isinstance(value, int) or value < MIN_SIDE or value > MAX_SIDE:
            raise InputError(f"{name.capitalize()} {value} is out of range: choose {MIN_SIDE} to {MAX_SIDE} pixels.")
        if value % 8:
            snapped = snap_to_8(value)
            notices.append(f"{name.capitalize()} {value} is not a multiple of 8; using {snapped}.")
            changes[name] = snapped

    if not 1 <= request.steps <= MAX_STEPS:
        raise InputError(f"Steps must be between 1 and {MAX_STEPS}, got {request.steps}.")
    if not 1 <= request.batch_size <= MAX_BATCH:
        raise InputError(f"Batch size must be between 1 and {MAX_BATCH}, got {request.batch_size}.")
    if not 0.0 <= request.cfg_scale <= 30.0:
        raise InputError(f"CFG scale must be between 0 and 30, got {request.cfg_scale}.")
    if request.scheduler not in SCHEDULER_IDS:
        raise InputError(f"Unknown scheduler {request.scheduler!r}; choose one of: {', '.join(SCHEDULER_IDS)}.")
    if request.seed is not None and not 0 <= request.seed < 2**32:
        raise InputError(f"Seed must be between 0 and {2**32 - 1}, got {request.seed}.")
    if not 0 <= request.mask_feather <= MAX_FEATHER:
        raise InputError(f"Mask feather must be between 0 and {MAX_FEATHER} pixels, got {request.mask_feather}.")

    if "\x00" in request.prompt or "\x00" in request.negative_prompt:
        notices.append("NUL characters were removed from the prompt.")
        changes["prompt"] = request.prompt.replace("\x00", "")
        changes["negative_prompt"] = request.negative_prompt.replace("\x00", "")

    mode = request.mode
    if mode is not Mode.TXT2IMG and request.init_image is None:
        raise InputError(f"{mode} needs an init image: open or paint one first.")
    if mode in (Mode.IMG2IMG, Mode.INPAINT) and not 0.0 < request.strength <= 1.0:
        raise InputError(f"Strength must be above 0 and at most 1, got {request.strength}.")
    if mode is Mode.INPAINT and request.mask is None:
        raise InputError("Inpainting needs a mask: paint the area to change.")
    if mode is Mode.OUTPAINT:
        b = request.outpaint
        if min(b.left, b.top, b.right, b.bottom) < 0 or not b.any:
            raise InputError("Outpainting needs at least one border larger than 0 (and none negative).")

    if changes:
        request = request.replace(**changes)
    return request, notices
