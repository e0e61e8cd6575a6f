"""What an image file is, cheaply: its size, its generation parameters, and whether it is whole."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from desktop_sd.core.images import MAX_INPUT_PIXELS, TEXT_TOO_LARGE
from desktop_sd.library.metadata import read_parameters
from desktop_sd.library.parsed import ParsedParameters


class NotAnImage(ValueError):
    """The file is not an image we can read; the message says why, for the user."""


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    format: str
    parameters: ParsedParameters | None


TRUNCATED = "it is damaged or truncated (the file ends before its image does)"
_TAIL = 4096  # how far from the end a format's end marker may sit (some tools append a little)


def _ends_whole(path: Path, kind: str) -> bool:
    """Whether the file reaches its format's end: PNG's IEND chunk, JPEG's EOI marker, the RIFF size."""
    with open(path, "rb") as stream:
        size = stream.seek(0, 2)
        if kind == "WEBP":
            stream.seek(4)
            riff = int.from_bytes(stream.read(4), "little")
            return size >= riff + 8
        marker = {"PNG": b"IEND\xaeB`\x82", "JPEG": b"\xff\xd9"}.get(kind)
        if marker is None:
            return True
        stream.seek(max(0, size - _TAIL))
        return marker in stream.read()


def probe_image(path: Path) -> Probe:
    """Size, format and parameters of an image file; raises ``NotAnImage``.

    The one rule for what enters the history, whether imported or found in the
    library folder: the header reads, the size is sane, and the file reaches its
    format's end marker (a truncated download or copy does not). Pixels are not
    decoded, so indexing thousands of files stays fast.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                kind = image.format or path.suffix.lstrip(".").upper()
                if width * height > MAX_INPUT_PIXELS:
                    raise NotAnImage(f"it is {width}x{height} pixels, larger than Desktop SD opens")
            if not _ends_whole(path, kind):
                raise NotAnImage(TRUNCATED)
    except NotAnImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NotAnImage("its size is so large it looks like a decompression bomb") from None
    except UnidentifiedImageError:
        raise NotAnImage("it is not an image Desktop SD can read (PNG, JPEG, WebP)") from None
    except ValueError as exc:
        if "MAX_TEXT_CHUNK" in str(exc) or "MAX_TEXT_MEMORY" in str(exc):  # Pillow's text limits
            raise NotAnImage(TEXT_TOO_LARGE) from None
        raise NotAnImage(f"it is damaged or truncated ({exc})") from None
    except (OSError, SyntaxError, EOFError) as exc:
        raise NotAnImage(f"it is damaged or truncated ({exc})") from None
    return Probe(width, height, kind, read_parameters(path))
