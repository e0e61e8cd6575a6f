"""Project files: a ``Document`` saved to and loaded from one ``.sdproj`` file.

The format is a zip archive (never pickle, so opening a file runs no code):

- ``document.json``: ``{"format": "desktop-sd-project", "version": 1, "size": [w, h],
  "title": str, "frame": {"x", "y", "width", "height"} | null, "prompt": {...},
  "image": "image.png" | null, "mask": "mask.png" | null}``
- ``image.png``: the canvas image (RGB), present when the document has one;
- ``mask.png``: the mask (L, 255 = repaint), present when the document has one.

PNG is lossless, so image, mask and frame round-trip pixel for pixel. The PNGs
are stored uncompressed in the zip (they are compressed already); the zip's
CRC-32 of every member means a damaged file is detected on load rather than
shown as a wrong picture.

Saving is atomic: the archive is written to a temporary file beside the target,
flushed, fsynced, and renamed over it, so a crash or a full disk leaves either
the old file or the new one, never half of one. Every failure is a
``DocumentError`` (an ``InputError``) whose message names the file, the problem
and what to do.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, UnidentifiedImageError

from desktop_sd.core.atomic import atomic_write
from desktop_sd.core.disk_errors import describe_os_error
from desktop_sd.core.document import Document, Rect
from desktop_sd.core.errors import InputError

SUFFIX = ".sdproj"
FORMAT = "desktop-sd-project"
VERSION = 1
JSON_NAME = "document.json"
IMAGE_NAME = "image.png"
MASK_NAME = "mask.png"

MAX_SIDE = 65_536
MAX_DOCUMENT_PIXELS = 16_384 * 8_192  # below Pillow's own decompression-bomb error (~179 MP)
MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_PNG_BYTES = 1024 * 1024 * 1024  # an uncompressed 134 MP RGB PNG is ~400 MB


class DocumentError(InputError):
    """A project file that could not be saved or opened; the message says why and what to do."""


def save_document(doc: Document, path: Path, *, compress_level: int = 6) -> None:
    """Write ``doc`` to ``path`` atomically (temp file, flush, fsync, rename).

    ``compress_level`` is the PNG zlib level (0-9): autosave uses a low one
    because speed matters more there than size.
    """
    path = Path(path)
    _check_document(doc)
    payload = _encode(doc, compress_level)
    folder = path.parent
    if not folder.is_dir():
        raise DocumentError(f"Could not save {path.name}: the folder {folder} does not exist. Choose another folder.")
    try:
        atomic_write(path, lambda stream: _write_archive(stream, payload))
    except OSError as exc:
        raise DocumentError(f"Could not save {path}: {describe_os_error(exc)}") from exc


def load_document(path: Path) -> Document:
    """Read a project file written by ``save_document``.

    Raises ``DocumentError`` for a missing, unreadable, damaged or foreign file.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            meta = _read_json(archive, path)
            size = _read_size(meta, path)
            image = _read_png(archive, meta.get("image"), path, "image", size)
            mask = _read_png(archive, meta.get("mask"), path, "mask", size)
    except DocumentError:
        raise
    except FileNotFoundError:
        raise DocumentError(f"Project file not found: {path}. Check the path and try again.") from None
    except IsADirectoryError:
        raise DocumentError(f"{path} is a folder, not a project file.") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        raise DocumentError(
            f"{path.name} is damaged or is not a Desktop SD project ({SUFFIX}) file; it could not be opened."
        ) from None
    except OSError as exc:
        raise DocumentError(f"Could not open {path}: {describe_os_error(exc)}") from None
    if image is not None and image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")
    if mask is not None and mask.mode != "L":
        mask = mask.convert("L")
    return Document(
        size=size,
        image=image,
        mask=mask,
        frame=_read_frame(meta.get("frame"), path),
        title=str(meta.get("title") or "Untitled"),
        prompt=_read_prompt(meta.get("prompt"), path),
    )


# ---- writing ---------------------------------------------------------------------------


def _check_document(doc: Document) -> None:
    width, height = doc.size
    if width <= 0 or height <= 0:
        raise DocumentError(f"Could not save: the canvas size {width}x{height} is empty.")
    for name, img in (("image", doc.image), ("mask", doc.mask)):
        if img is not None and img.size != tuple(doc.size):
            raise DocumentError(
                f"Could not save: the {name} is {img.width}x{img.height} but the canvas is {width}x{height}."
            )


def _encode(doc: Document, compress_level: int) -> dict[str, bytes]:
    """Every archive member as bytes, built before the file is opened so a bad value writes nothing."""
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "size": [int(doc.size[0]), int(doc.size[1])],
        "title": doc.title,
        "frame": None if doc.frame is None else _frame_dict(doc.frame),
        "prompt": doc.prompt,
        "image": IMAGE_NAME if doc.image is not None else None,
        "mask": MASK_NAME if doc.mask is not None else None,
    }
    # default=str: a stray non-JSON value in the prompt settings is kept as text rather than losing the save.
    members = {JSON_NAME: json.dumps(meta, ensure_ascii=False, indent=1, default=str).encode("utf-8")}
    if doc.image is not None:
        members[IMAGE_NAME] = _png_bytes(doc.image, compress_level)
    if doc.mask is not None:
        members[MASK_NAME] = _png_bytes(doc.mask, compress_level)
    return members


def _frame_dict(frame: Rect) -> dict[str, int]:
    return {"x": frame.x, "y": frame.y, "width": frame.width, "height": frame.height}


def _png_bytes(image: Image.Image, compress_level: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def _write_archive(fh: BinaryIO, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(fh, "w") as archive:
        for name, data in members.items():
            method = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
            archive.writestr(name, data, compress_type=method)


# ---- reading ---------------------------------------------------------------------------


def _read_json(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        info = archive.getinfo(JSON_NAME)
    except KeyError:
        raise DocumentError(f"{path.name} is not a Desktop SD project: it has no {JSON_NAME}.") from None
    if info.file_size > MAX_JSON_BYTES:
        raise DocumentError(f"{path.name} is damaged: its {JSON_NAME} is implausibly large.")
    try:
        meta = json.loads(archive.read(info).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DocumentError(f"{path.name} is damaged: its {JSON_NAME} could not be read.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DocumentError(f"{path.name} is not a Desktop SD project file.")
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise DocumentError(
            f"{path.name} was saved by a newer version of Desktop SD (format {version}); update the app to open it."
        )
    return meta


def _read_size(meta: dict[str, Any], path: Path) -> tuple[int, int]:
    size = meta.get("size")
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_SIDE for v in size)
        or size[0] * size[1] > MAX_DOCUMENT_PIXELS
    ):
        raise DocumentError(f"{path.name} is damaged: its canvas size {size!r} is not valid.")
    return int(size[0]), int(size[1])


def _read_png(
    archive: zipfile.ZipFile, name: object, path: Path, what: str, size: tuple[int, int]
) -> Image.Image | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise DocumentError(f"{path.name} is damaged: the {what} entry is not valid.")
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise DocumentError(f"{path.name} is damaged: its {what} ({name}) is missing.") from None
    if info.file_size > MAX_PNG_BYTES:
        raise DocumentError(f"{path.name} is damaged: its {what} is implausibly large.")
    try:
        data = archive.read(info)
        with warnings.catch_warnings():
            # Our own size check below bounds memory; Pillow's warning threshold is lower than our limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as img:
                if img.size != size:
                    raise DocumentError(
                        f"{path.name} is damaged: its {what} is {img.width}x{img.height}, "
                        f"the canvas {size[0]}x{size[1]}."
                    )
                img.load()
                return img.copy()
    except DocumentError:
        raise
    except zipfile.BadZipFile:
        raise DocumentError(f"{path.name} is damaged: its {what} failed its checksum.") from None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError):
        raise DocumentError(f"{path.name} is damaged: its {what} could not be decoded.") from None


def _read_frame(value: object, path: Path) -> Rect | None:
    if value is None:
        return None
    keys = ("x", "y", "width", "height")
    if not isinstance(value, dict) or not all(
        isinstance(value.get(k), int) and not isinstance(value.get(k), bool) for k in keys
    ):
        raise DocumentError(f"{path.name} is damaged: its generation frame is not valid.")
    if value["width"] <= 0 or value["height"] <= 0:
        raise DocumentError(f"{path.name} is damaged: its generation frame is empty.")
    return Rect(*(int(value[k]) for k in keys))


def _read_prompt(value: object, path: Path) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DocumentError(f"{path.name} is damaged: its prompt settings are not valid.")
    return value
