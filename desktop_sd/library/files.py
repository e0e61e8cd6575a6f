"""Writing image files so a crash never leaves half a file, and naming them.

A file is written to a hidden temp name in its final folder, flushed, fsynced
and renamed; the folder is fsynced so the rename itself survives a power cut.
Stray temp files (from a crash mid-write) are removed at start-up.

``fault_point`` is a test hook: when ``DESKTOP_SD_FAULT_POINT`` names a point,
the process dies there at once (``os._exit``), as a crash or a kill would.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import unicodedata
from pathlib import Path
from typing import BinaryIO

from desktop_sd.core.atomic import atomic_write, fsync_folder
from desktop_sd.core.errors import LibraryError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
TEMP_PREFIX = ".tmp-"
FAULT_ENV = "DESKTOP_SD_FAULT_POINT"
FAULT_EXIT_CODE = 77
MAX_STEM = 80  # keeps names well inside every file system's limit

# Where a save can be cut short, in order.
SAVE_POINTS = (
    "temp_created",
    "temp_half_written",
    "temp_written",
    "temp_synced",
    "renamed",
    "record_inserted",
    "committed",
)


def fault_point(name: str) -> None:
    """Die here, abruptly, if the environment asks for it (crash tests only)."""
    if os.environ.get(FAULT_ENV) == name:
        os._exit(FAULT_EXIT_CODE)


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def safe_stem(text: str, fallback: str = "image") -> str:
    """A file-name stem from any text: letters, digits, ``-_.`` only, not too long."""
    text = unicodedata.normalize("NFC", text)
    cleaned = re.sub(r"[^\w\-.]+", "_", text, flags=re.UNICODE).strip("._")
    cleaned = cleaned.encode("utf-8", "ignore").decode("utf-8")[:MAX_STEM].rstrip("._")
    return cleaned or fallback


def unique_name(folder: Path, stem: str, suffix: str) -> str:
    """``stem-<random>.suffix`` not yet present in ``folder``."""
    while True:
        name = f"{stem}-{secrets.token_hex(3)}{suffix}"
        if not (folder / name).exists():
            return name


def describe_os_error(exc: OSError, action: str, where: Path) -> LibraryError:
    """A user-facing ``LibraryError`` for a failed disk operation, saying what to do."""
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EROFS: "the disk is read-only",
        errno.EACCES: "permission was denied",
        errno.EPERM: "permission was denied",
        errno.ENAMETOOLONG: "the path is too long",
    }
    if hasattr(errno, "EDQUOT"):
        reasons[errno.EDQUOT] = "the disk quota is used up"
    reason = reasons.get(exc.errno or 0, exc.strerror or str(exc))
    hint = {
        errno.ENOSPC: "Free some space or choose another library folder.",
        errno.ENAMETOOLONG: "Choose a library folder with a shorter path.",
    }.get(exc.errno or 0, "Check the folder or choose another library folder.")
    return LibraryError(f"Could not {action} in {where}: {reason}. {hint}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` all or nothing. Raises ``OSError``; no temp file is left behind."""
    folder = path.parent
    temp = folder / f"{TEMP_PREFIX}{path.name}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o644)
    try:
        fault_point("temp_created")
        with os.fdopen(fd, "wb") as stream:
            half = len(data) // 2
            stream.write(data[:half])
            stream.flush()
            fault_point("temp_half_written")
            stream.write(data[half:])
            stream.flush()
            fault_point("temp_written")
            os.fsync(stream.fileno())
            fault_point("temp_synced")
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fault_point("renamed")
    fsync_folder(folder)


def copy_atomic(source: Path, target: Path, chunk: int = 1 << 20) -> None:
    """Copy a file's bytes (metadata and all) to ``target`` all or nothing."""

    def copy(out: BinaryIO) -> None:
        with open(source, "rb") as src:
            while block := src.read(chunk):
                out.write(block)

    atomic_write(target, copy, target.parent / f"{TEMP_PREFIX}{target.name}")
