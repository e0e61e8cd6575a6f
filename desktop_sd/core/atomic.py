"""All-or-nothing file writes: temp file in the same folder, flush, fsync, rename, fsync the folder.

A crash, a kill or a full disk leaves either the old file or the new one,
never half of one, and no temp file behind.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows cannot open a folder this way)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[BinaryIO], object], temp_path: Path | None = None) -> None:
    """Call ``write(stream)`` on a temp file beside ``path``, then move it into place.

    ``temp_path`` names the temp file (it must be in ``path``'s folder); by default a
    hidden, unique name. Raises ``OSError``; the temp file is removed on any failure.
    """
    path = Path(path)
    temp = temp_path or path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o644)
    try:
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_folder(path.parent)
