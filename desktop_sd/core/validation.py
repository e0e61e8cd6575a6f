"""Checks on a request that need no model: done before anything is allocated."""

from __future__ import annotations

from desktop_sd.core.errors import InputError
from desktop_sd.core.hires import check_hires
from desktop_sd.core.images import MAX_INPUT_PIXELS
from desktop_sd.core.params import HEIGHT, NUMBER_PARAMS, SCHEDULER, SEED, STRENGTH, WIDTH, NumberParam, number_text
from desktop_sd.core.request import GenerationRequest, Mode

# About what preparing an outpaint canvas holds at once per pixel (core.masks.outpaint_canvas: the
# stretched edges, the float32 blur, float64 noise and sums over three channels, the canvas and its mask).
CANVAS_BYTES_PER_PIXEL = 100


def snap_to_step(value: int, step: int) -> int:
    """The nearest multiple of ``step`` (never below one step)."""
    return max(step, round(value / step) * step)


def range_error(spec: NumberParam[int] | NumberParam[float], value: object) -> InputError:
    """``Steps must be between 1 and 500, got 0.``"""
    unit = f" {spec.unit}" if spec.unit else ""
    bounds = f"{number_text(spec.minimum)} and {number_text(spec.maximum)}"
    return InputError(f"{spec.label} must be between {bounds}{unit}, got {value}.")


def _check_canvas(width: int, height: int) -> None:
    """Refuse an outpaint canvas larger than images may be, before anything the size of it is allocated."""
    pixels = width * height
    if pixels > MAX_INPUT_PIXELS:
        gigabytes = pixels * CANVAS_BYTES_PER_PIXEL / 1e9
        raise InputError(
            f"The outpaint canvas would be {width}x{height} ({pixels / 1e6:,.0f} megapixels, about {gigabytes:,.0f} GB "
            f"of memory to prepare); the limit is {MAX_INPUT_PIXELS // 1_000_000} megapixels. Use smaller borders."
        )


def check_request(request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
    """Validate and tidy a request against the parameter table. Returns the request to run and notices.

    Sizes that are not multiples of their step (8) are snapped (with a notice);
    sizes that are zero, negative or absurd are refused before any memory is
    allocated.
    """
    notices: list[str] = []
    changes: dict[str, object] = {}

    for side in (WIDTH, HEIGHT):
        value = getattr(request, side.name)
        if not isinstance(value, int) or not side.accepts(value):
            raise InputError(
                f"{side.label} {value} is out of range: choose {side.minimum} to {side.maximum} {side.unit}."
            )
        if value % side.step:
            snapped = snap_to_step(value, side.step)
            notices.append(f"{side.label} {value} is not a multiple of {side.step}; using {snapped}.")
            changes[side.name] = snapped

    for spec in NUMBER_PARAMS.values():
        if spec in (WIDTH, HEIGHT, STRENGTH):
            continue  # sizes are checked above; strength only matters with an init image, below
        value = getattr(request, spec.name)
        if spec is SEED and value is None:
            continue  # the engine draws one
        if spec is SEED and (isinstance(value, bool) or not isinstance(value, int)):
            raise InputError(f"Seed must be a whole number, got {value!r}.")  # a float has lost digits
        if not spec.accepts(value):
            raise range_error(spec, value)
    if request.scheduler not in SCHEDULER.choices:
        raise InputError(f"Unknown scheduler {request.scheduler!r}; choose one of: {', '.join(SCHEDULER.choices)}.")

    if "\x00" in request.prompt or "\x00" in request.negative_prompt:
        notices.append("NUL characters were removed from the prompt.")
        changes["prompt"] = request.prompt.replace("\x00", "")
        changes["negative_prompt"] = request.negative_prompt.replace("\x00", "")

    mode = request.mode
    if mode is not Mode.TXT2IMG and request.init_image is None:
        raise InputError(f"{mode} needs an init image: open or paint one first.")
    if mode is not Mode.TXT2IMG and not STRENGTH.accepts(request.strength):
        raise range_error(STRENGTH, request.strength)
    if mode is Mode.INPAINT and request.mask is None:
        raise InputError("Inpainting needs a mask: paint the area to change.")
    if mode is Mode.OUTPAINT:
        b = request.outpaint
        if min(b.left, b.top, b.right, b.bottom) < 0 or not b.any:
            raise InputError("Outpainting needs at least one border larger than 0 (and none negative).")
        assert request.init_image is not None
        _check_canvas(request.init_image.width + b.left + b.right, request.init_image.height + b.top + b.bottom)

    check_hires(request)
    if changes:
        request = request.replace(**changes)
    return request, notices
