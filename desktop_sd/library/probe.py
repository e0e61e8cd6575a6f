"""What an image file is, cheaply: its size, its generation parameters, and whether it is whole."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from desktop_sd.core.images import MAX_INPUT_PIXELS
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


def probe_image(path: Path, verify: bool = False) -> Probe:
    """Size, format and parameters of an image file; raises ``NotAnImage``.

    Without ``verify`` only the header is read (start-up re-indexing must stay
    fast). With it, the file is checked whole: PNG chunk checksums, and a full
    decode for other formats, so truncated files are refused on import.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                kind = image.format or path.suffix.lstrip(".").upper()
                if width * height > MAX_INPUT_PIXELS:
                    raise NotAnImage(f"it is {width}x{height} pixels, larger than Desktop SD opens")
                if verify:
                    if kind == "PNG":
                        image.verify()
                    else:
                        image.load()
    except NotAnImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NotAnImage("its size is so large it looks like a decompression bomb") from None
    except UnidentifiedImageError:
        raise NotAnImage("it is not an image Desktop SD can read (PNG, JPEG, WebP)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise NotAnImage(f"it is damaged or truncated ({exc})") from None
    return Probe(width, height, kind, read_parameters(path))
