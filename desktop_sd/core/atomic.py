"""All-or-nothing file writes: temp file in the same folder, flush, fsync, rename, fsync the folder.

A crash, a kill or a full disk leaves either the old file or the new one,
never half of one, and no temp file behind (a kill may leave the temp file:
its name is the caller's to choose, so it can be swept up at the next start).

``on_step`` is called with the name of each step as it completes (see
``STEPS``): the library's crash tests kill the process there.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# The steps of a write, in order; "temp_half_written" only for ``atomic_write_bytes``.
STEPS = ("temp_created", "temp_half_written", "temp_written", "temp_synced", "renamed")
OnStep = Callable[[str], None]
COPY_CHUNK = 1 << 20


def _no_step(_name: str) -> None:
    pass


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


def atomic_write(
    path: Path,
    write: Callable[[BinaryIO], object],
    *,
    temp_path: Path | None = None,
    on_step: OnStep | None = None,
) -> None:
    """Call ``write(stream)`` on a temp file beside ``path``, then move it into place.

    ``temp_path`` names the temp file (it must be in ``path``'s folder and not
    exist); by default a hidden, unique name. Raises ``OSError`` (or whatever
    ``write`` raises); the temp file is removed on any failure.
    """
    path = Path(path)
    step = on_step or _no_step
    temp = temp_path or path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o644)
    try:
        step("temp_created")
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            stream.flush()
            step("temp_written")
            os.fsync(stream.fileno())
            step("temp_synced")
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    step("renamed")
    fsync_folder(path.parent)


def atomic_write_bytes(
    path: Path, data: bytes, *, temp_path: Path | None = None, on_step: OnStep | None = None
) -> None:
    """``atomic_write`` of ``data``, in two halves with a "temp_half_written" step between."""
    step = on_step or _no_step

    def write(stream: BinaryIO) -> None:
        half = len(data) // 2
        stream.write(data[:half])
        stream.flush()  # so a kill at the next step leaves a half-written file, as a real crash would
        step("temp_half_written")
        stream.write(data[half:])

    atomic_write(path, write, temp_path=temp_path, on_step=on_step)


def atomic_copy(
    source: Path,
    target: Path,
    *,
    temp_path: Path | None = None,
    on_block: Callable[[int], None] | None = None,
    chunk: int = COPY_CHUNK,
) -> None:
    """Copy a file's bytes (metadata and all) to ``target`` all or nothing.

    ``on_block(size)`` is called after each block is written, for progress; it
    may raise (``Cancelled``) to stop the copy, which then leaves no trace.
    """

    def copy(out: BinaryIO) -> None:
        with open(source, "rb") as src:
            while block := src.read(chunk):
                out.write(block)
                if on_block is not None:
                    on_block(len(block))

    atomic_write(target, copy, temp_path=temp_path)
