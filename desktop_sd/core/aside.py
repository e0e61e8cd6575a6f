"""Keeping a damaged file aside: beside itself, under a name no earlier copy has."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _aside_name(path: Path, label: str, suffix: str, counter: int) -> Path:
    base = path.stem if suffix else path.name
    return path.with_name(f"{base}.{label}-{time.strftime('%Y%m%d-%H%M%S')}{f'-{counter}' if counter else ''}{suffix}")


def copy_aside(path: Path, label: str) -> Path:
    """Copy ``path`` to ``<name>.<label>-<date-time>[-N]`` beside it, for a file about to be rewritten in
    place (so a failed rewrite leaves the original where it was). Raises ``OSError``."""
    data = path.read_bytes()
    counter = 0
    while True:
        aside = _aside_name(path, label, "", counter)
        counter += 1
        try:
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
        except OSError:
            aside.unlink(missing_ok=True)
            raise
        return aside


def move_aside(path: Path, label: str, suffix: str = "") -> Path:
    """Rename ``path`` to ``<name>.<label>-<date-time>[-N]<suffix>`` beside it; returns the new path.

    With ``suffix`` (".db"), ``<name>`` is the stem, so the copy keeps a
    suffix that opens it. Never replaces an existing file, even when two are
    kept aside in the same second. Raises ``OSError``.
    """
    counter = 0
    while True:
        aside = _aside_name(path, label, suffix, counter)
        counter += 1
        try:
            os.link(path, aside)  # fails if the name is taken, where a rename would replace it
        except FileExistsError:
            continue
        except OSError:  # no hard links here (FAT, some network shares): look first, then rename
            if aside.exists():
                continue
            os.replace(path, aside)
            return aside
        path.unlink()
        return aside
