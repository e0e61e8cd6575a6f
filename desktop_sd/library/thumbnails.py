"""Gallery thumbnails: made once with Pillow, cached as small JPEGs inside the library folder.

The cache lives in ``.thumbnails`` (hidden, so start-up reconciling skips it)
and mirrors the images' relative paths, so it moves with the library. Entries
are a cache: written with a plain rename, no fsync, remade when unreadable or
older than their image. Call these off the GUI thread.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from PIL import Image

THUMB_FOLDER = ".thumbnails"
THUMB_SIZE = 256
BACKGROUND = (48, 48, 48)  # transparent areas of imported images


def thumbnail_path(library_folder: Path, file_name: str) -> Path:
    return library_folder / THUMB_FOLDER / f"{file_name}.jpg"


def _fresh(thumb: Path, source: Path) -> bool:
    try:
        return thumb.stat().st_mtime_ns >= source.stat().st_mtime_ns
    except OSError:
        return False


def make_thumbnail(source: Path, target: Path, size: int = THUMB_SIZE) -> Image.Image:
    """Scale ``source`` to fit ``size`` x ``size`` (RGB), save it to ``target``, return it.

    Raises ``OSError`` (missing or damaged file) or ``ValueError``; a failed cache
    write is ignored (the thumbnail is still returned).
    """
    with Image.open(source) as image:
        image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
        image.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            thumb = Image.new("RGB", rgba.size, BACKGROUND)
            thumb.paste(rgba, mask=rgba.getchannel("A"))
        else:
            thumb = image.convert("RGB")
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        try:
            thumb.save(temp, "JPEG", quality=85)
            os.replace(temp, target)
        finally:
            with contextlib.suppress(OSError):
                temp.unlink()
    return thumb


def load_thumbnail(source: Path, target: Path, size: int = THUMB_SIZE) -> Image.Image:
    """The cached thumbnail when it is fresh and readable, else a new one."""
    if _fresh(target, source):
        try:
            with Image.open(target) as cached:
                cached.load()
                return cached.convert("RGB")
        except (OSError, ValueError):
            pass  # damaged cache entry: make it again
    return make_thumbnail(source, target, size)


def remove_thumbnail(library_folder: Path, file_name: str) -> None:
    with contextlib.suppress(OSError):
        thumbnail_path(library_folder, file_name).unlink()
