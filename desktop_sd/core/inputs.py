"""Turning a checked request into what a pipeline call needs, and its output back into the result.

The request's width and height are the size the model runs at. For inpaint
and outpaint the result keeps the canvas size (the init image, plus the
borders): if the two differ the generated image is scaled to the canvas and
composited there, so untouched pixels stay the user's own bytes.

Pure Pillow and numpy: the local engine and the ComfyUI backend (``remote``)
prepare and finish a request the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import psutil
from PIL import Image

from desktop_sd.core.errors import InputError
from desktop_sd.core.images import normalize_image, normalize_mask
from desktop_sd.core.masks import composite, composite_alpha, feather_alpha, outpaint_blend, outpaint_canvas, union
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.validation import CANVAS_BYTES_PER_PIXEL

BLANK_GREY = (127, 127, 127)


def _check_canvas_memory(width: int, height: int) -> None:
    """Refuse an outpaint canvas that would not fit in the memory free now (its size is capped already)."""
    need = width * height * CANVAS_BYTES_PER_PIXEL
    free = int(psutil.virtual_memory().available)
    if need > free:
        raise InputError(
            f"The outpaint canvas would be {width}x{height}, which needs about {need / 1024**3:.1f} GB of memory "
            f"to prepare; {free / 1024**3:.1f} GB is free. Use smaller borders, or close other programs."
        )


class PipelineKind(StrEnum):
    """Which diffusers pipeline runs a request (outpaint runs as an inpaint of the enlarged canvas)."""

    TXT2IMG = "txt2img"
    IMG2IMG = "img2img"
    INPAINT = "inpaint"


@dataclass
class PipelineCall:
    """One pipeline call: which pipeline, its images, and how to finish the output."""

    kind: PipelineKind
    size: tuple[int, int]  # what the model runs at
    strength: float | None = None
    image: Image.Image | None = None  # at ``size``
    mask: Image.Image | None = None  # at ``size``, 255 = repaint
    canvas: Image.Image | None = None  # original pixels to composite onto (inpaint, outpaint)
    canvas_mask: Image.Image | None = None
    feather: int = 0
    # Blend weights at the canvas size, when they are not the feathered mask's (outpaint).
    blend: np.ndarray | None = field(default=None, repr=False, compare=False)
    notices: list[str] = field(default_factory=list)

    def finish(self, images: list[Image.Image]) -> list[Image.Image]:
        """Composite the generated images back onto the canvas (inpaint and outpaint)."""
        if self.canvas is None or self.canvas_mask is None:
            return images
        if self.blend is not None:
            return [composite_alpha(self.canvas, image, self.blend) for image in images]
        return [composite(self.canvas, image, self.canvas_mask, self.feather) for image in images]

    def for_inpainting_model(self) -> PipelineCall:
        """The same call for a 9-channel inpainting model, which only has an inpaint pipeline.

        txt2img becomes an inpaint of a blank, fully masked canvas at strength 1;
        img2img an inpaint of the whole image at the requested strength.
        """
        if self.kind is PipelineKind.TXT2IMG:
            blank = Image.new("RGB", self.size, BLANK_GREY)
            mask = Image.new("L", self.size, 255)
            return replace(self, kind=PipelineKind.INPAINT, strength=1.0, image=blank, mask=mask)
        if self.kind is PipelineKind.IMG2IMG:
            return replace(self, kind=PipelineKind.INPAINT, mask=Image.new("L", self.size, 255))
        return self

    def pipeline_inputs(self) -> dict[str, object]:
        """The mode-specific pipeline arguments (img2img takes its size from the image)."""
        width, height = self.size
        if self.kind is PipelineKind.IMG2IMG:
            return {"image": self.image, "strength": self.strength}
        if self.kind is PipelineKind.INPAINT:
            return {
                "image": self.image,
                "mask_image": self.mask,
                "strength": self.strength,
                "width": width,
                "height": height,
            }
        return {"width": width, "height": height}


def _fit(image: Image.Image, size: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    return image if image.size == size else image.resize(size, resample)


def _scaled_mask(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The mask at the model's size; any pixel touched by the mask stays in it, so thin strokes survive."""
    if mask.size == size:
        return mask
    return mask.resize(size, Image.Resampling.BILINEAR).point(lambda v: 255 if v > 0 else 0)


def prepare_call(request: GenerationRequest) -> PipelineCall:
    """Normalise the request's images and mask and decide how to run it (``request`` is already checked).

    Runs before the model is loaded, so a bad image or mask fails at once.
    """
    size = (request.width, request.height)
    if request.mode is Mode.TXT2IMG:
        return PipelineCall(PipelineKind.TXT2IMG, size)

    assert request.init_image is not None  # check_request guarantees it
    init, notices = normalize_image(request.init_image)

    if request.mode is Mode.IMG2IMG:
        if init.size != size:
            notices.append(f"The init image is {init.width}x{init.height}; it was scaled to {size[0]}x{size[1]}.")
        image = _fit(init, size, Image.Resampling.LANCZOS)
        return PipelineCall(PipelineKind.IMG2IMG, size, request.strength, image, notices=notices)

    if request.mode is Mode.INPAINT:
        assert request.mask is not None
        mask, mask_notices = normalize_mask(request.mask, init.size)
        notices += mask_notices
        canvas, canvas_mask = init, mask
        blend = None
    else:
        if not 0.0 < request.strength <= 1.0:
            raise InputError(f"Strength must be above 0 and at most 1, got {request.strength}.")
        _check_canvas_memory(
            init.width + request.outpaint.left + request.outpaint.right,
            init.height + request.outpaint.top + request.outpaint.bottom,
        )
        overlap = request.outpaint_overlap
        canvas, canvas_mask = outpaint_canvas(init, request.outpaint, request.seed or 0, overlap)
        blend = outpaint_blend(init.size, request.outpaint, request.mask_feather, overlap)
        if request.mask is not None:
            painted, mask_notices = normalize_mask(request.mask, init.size)
            notices += mask_notices
            placed = Image.new("L", canvas.size, 0)
            placed.paste(painted, (request.outpaint.left, request.outpaint.top))
            canvas_mask = union(canvas_mask, placed)
            blend = np.maximum(blend, feather_alpha(placed, request.mask_feather))  # the painted part as inpaint
    if canvas.size != size:
        notices.append(
            f"The canvas is {canvas.width}x{canvas.height}; it was generated at {size[0]}x{size[1]} "
            "and scaled back to fit."
        )
    return PipelineCall(
        PipelineKind.INPAINT,
        size,
        request.strength,
        _fit(canvas, size, Image.Resampling.LANCZOS),
        _scaled_mask(canvas_mask, size),
        canvas=canvas,
        canvas_mask=canvas_mask,
        feather=request.mask_feather,
        blend=blend,
        notices=notices,
    )
