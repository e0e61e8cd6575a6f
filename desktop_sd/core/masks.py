"""Masks, feathered compositing and the outpaint canvas (numpy and Pillow only).

The promise kept here: inpainting and outpainting never change a pixel
farther than ``feather`` pixels from the painted mask. The generated image is
blended in over a soft edge and the original bytes are copied back everywhere else.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter

from desktop_sd.core.request import Borders

# Pixels of the original repainted along each extended edge, to hide the seam: the most an
# outpaint changes the original, the feathered blend included (``outpaint_blend``).
OUTPAINT_OVERLAP = 8


def feather_alpha(mask: Image.Image, feather: int) -> np.ndarray:
    """Blend weight per pixel: 1 inside the mask, falling linearly to 0 at ``feather`` px (Euclidean) outside it."""
    inside = np.asarray(mask.convert("L")) >= 128
    alpha = inside.astype(np.float32)
    box = mask.convert("L").point(lambda v: 255 if v >= 128 else 0).getbbox()
    if feather <= 0 or box is None:
        return alpha
    h, w = inside.shape
    x0, y0 = max(box[0] - feather, 0), max(box[1] - feather, 0)
    x1, y1 = min(box[2] + feather, w), min(box[3] + feather, h)
    region = inside[y0:y1, x0:x1]
    padded = np.pad(region, feather)
    out = alpha[y0:y1, x0:x1]
    rh, rw = region.shape
    for dy in range(-feather, feather + 1):
        for dx in range(-feather, feather + 1):
            d2 = dx * dx + dy * dy
            if d2 == 0 or d2 > feather * feather:
                continue
            weight = 1.0 - math.sqrt(d2) / (feather + 1)
            shifted = padded[feather + dy : feather + dy + rh, feather + dx : feather + dx + rw]
            np.maximum(out, shifted * np.float32(weight), out=out)
    return alpha


def composite(original: Image.Image, generated: Image.Image, mask: Image.Image, feather: int) -> Image.Image:
    """``generated`` inside the mask, a soft blend ``feather`` px around it, ``original`` bytes everywhere else."""
    return composite_alpha(original, generated, feather_alpha(mask, feather))


def composite_alpha(original: Image.Image, generated: Image.Image, alpha_2d: np.ndarray) -> Image.Image:
    """``generated`` over ``original`` by a blend weight per pixel (0 keeps the original's bytes)."""
    if generated.size != original.size:
        generated = generated.resize(original.size, Image.Resampling.LANCZOS)
    orig = np.asarray(original.convert("RGB"))
    gen = np.asarray(generated.convert("RGB")).astype(np.float32)
    alpha = alpha_2d[..., None]
    blended = np.rint(orig.astype(np.float32) * (1.0 - alpha) + gen * alpha).clip(0, 255).astype(np.uint8)
    return Image.fromarray(np.where(alpha > 0, blended, orig), "RGB")


def outpaint_canvas(
    image: Image.Image, borders: Borders, seed: int, overlap: int = OUTPAINT_OVERLAP
) -> tuple[Image.Image, Image.Image]:
    """The image on a larger canvas with the new area filled, and the mask to repaint.

    The fill stretches the edge colours outward, blurs them and adds light
    noise, so a model that starts from it (strength below 1) sees plausible
    colours rather than a flat grey. The mask covers the new area plus
    ``overlap`` px of the original along each extended edge.
    """
    w, h = image.size
    width, height = w + borders.left + borders.right, h + borders.top + borders.bottom
    source = np.asarray(image.convert("RGB"))
    rows = np.clip(np.arange(height) - borders.top, 0, h - 1)
    cols = np.clip(np.arange(width) - borders.left, 0, w - 1)
    stretched = source[rows][:, cols]
    radius = max(4, min(64, max(borders.left, borders.top, borders.right, borders.bottom) // 4))
    blurred = np.asarray(Image.fromarray(stretched, "RGB").filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0.0, 12.0, blurred.shape)
    canvas = Image.fromarray(np.clip(blurred + noise, 0, 255).astype(np.uint8), "RGB")
    canvas.paste(image.convert("RGB"), (borders.left, borders.top))
    return canvas, outpaint_mask(image.size, borders, overlap)


def outpaint_mask(size: tuple[int, int], borders: Borders, overlap: int) -> Image.Image:
    """The new area around an image of ``size``, plus ``overlap`` px of it along each extended edge
    (at most a quarter of the image)."""
    w, h = size
    inner_x = min(overlap, w // 4)
    inner_y = min(overlap, h // 4)
    keep = (
        borders.left + (inner_x if borders.left else 0),
        borders.top + (inner_y if borders.top else 0),
        borders.left + w - (inner_x if borders.right else 0),
        borders.top + h - (inner_y if borders.bottom else 0),
    )
    mask = Image.new("L", (w + borders.left + borders.right, h + borders.top + borders.bottom), 255)
    mask.paste(0, keep)
    return mask


def outpaint_blend(
    size: tuple[int, int], borders: Borders, feather: int, overlap: int = OUTPAINT_OVERLAP
) -> np.ndarray:
    """Blend weights for an outpaint's result: the feather sits inside the overlap, so the original
    changes at most ``overlap`` px from each extended edge, whatever the feather (the model repaints
    the whole overlap; only its outer part is blended back)."""
    soft = max(0, min(feather, overlap))
    return feather_alpha(outpaint_mask(size, borders, overlap - soft), soft)


def union(a: Image.Image, b: Image.Image) -> Image.Image:
    return Image.fromarray(np.maximum(np.asarray(a.convert("L")), np.asarray(b.convert("L"))), "L")

