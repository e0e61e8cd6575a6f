"""Turning whatever image a user hands us into something the engine can use.

Every odd input gets normalised or refused with a message that names the
problem: truncated files, decompression bombs, CMYK, 16-bit, palette,
alpha, EXIF rotation; masks of another size, mode or with soft values.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from desktop_sd.core.errors import InputError

MAX_INPUT_PIXELS = 64_000_000  # ~8000 x 8000: anything larger is refused, not decoded
# Pillow refuses a PNG text chunk that inflates past 1 MB ("Decompressed Data Too Large"), so
# an intact image with a big ComfyUI workflow or prompt history looked damaged. Every reader
# here (Pillow and library.pngtext) takes up to this much per chunk, and no more.
MAX_PNG_TEXT = 32 * 1024 * 1024
PngImagePlugin.MAX_TEXT_CHUNK = MAX_PNG_TEXT
PngImagePlugin.MAX_TEXT_MEMORY = 2 * MAX_PNG_TEXT
TEXT_TOO_LARGE = f"a text chunk in it expands past {MAX_PNG_TEXT // (1024 * 1024)} MB, more than Desktop SD reads"


def open_image(path: str | Path) -> tuple[Image.Image, list[str]]:
    """Load an image file as RGB; returns the image and notices for the user."""
    return normalize_image(read_image(path))


def read_image(path: str | Path, what: str = "Image") -> Image.Image:
    """Decode an image file as it is (any mode), refusing missing, huge, damaged or non-image files."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}. Check the path and try again.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_INPUT_PIXELS:
                    raise InputError(
                        f"{path.name} is {img.width}x{img.height} pixels, too large to open "
                        f"(limit {MAX_INPUT_PIXELS // 1_000_000} megapixels). Scale it down first."
                    )
                img.load()
                image = img.copy()
                image.info = dict(img.info)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(
            f"{path.name} claims a size so large it looks like a decompression bomb; it was not opened."
        ) from None
    except UnidentifiedImageError:
        raise InputError(f"{path.name} is not an image Desktop SD can read (PNG, JPEG, WebP, BMP, TIFF).") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path.name} is damaged or truncated and could not be read ({exc}).") from None
    return image


def normalize_image(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """Apply EXIF rotation and convert any mode to 8-bit RGB."""
    notices: list[str] = []
    transposed = ImageOps.exif_transpose(image)
    if transposed is not None and transposed.size != image.size:
        notices.append("The image was rotated as its EXIF orientation asks.")
    image = transposed if transposed is not None else image
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L").convert("RGB")
        notices.append("The 16-bit image was reduced to 8 bits per channel.")
    elif mode == "CMYK":
        image = image.convert("RGB")
        notices.append("The CMYK image was converted to RGB.")
    elif mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
        notices.append("Transparent areas were flattened onto white.")
    elif mode != "RGB":
        image = image.convert("RGB")
    return image, notices


def normalize_mask(mask: Image.Image, size: tuple[int, int]) -> tuple[Image.Image, list[str]]:
    """A binary ``L`` mask (255 = repaint) of ``size``; soft or odd masks are fixed with notices.

    A mask with an alpha channel uses the alpha as the mask (painted = opaque).
    """
    notices: list[str] = []
    if mask.mode in ("RGBA", "LA") or (mask.mode == "P" and "transparency" in mask.info):
        alpha = mask.convert("RGBA").getchannel("A")
        lo, hi = alpha.getextrema()
        mask = alpha if lo != hi else mask.convert("L")
    elif mask.mode in ("I;16", "I;16B", "I;16L", "I"):
        mask = mask.point(lambda v: v / 256).convert("L")
    elif mask.mode != "L":
        mask = mask.convert("L")
    if mask.size != size:
        notices.append(f"The mask was {mask.width}x{mask.height}; it was resized to {size[0]}x{size[1]}.")
        mask = mask.resize(size, Image.Resampling.NEAREST)
    hist = mask.histogram()
    if sum(hist[1:255]) > 0:
        notices.append("The mask had soft values; it was thresholded at 50%.")
    mask = mask.point(lambda v: 255 if v >= 128 else 0)
    if mask.getbbox() is None:
        raise InputError("The mask is empty: paint the area to change, then try again.")
    return mask, notices
