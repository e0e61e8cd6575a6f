"""What ``generate`` and ``upscale`` print and write: progress and notes on stderr, each PNG and its path.

Both follow one convention: stdout carries only the paths written (one a line, for scripts),
stderr everything a person reads.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from desktop_sd.core.atomic import atomic_write_bytes
from desktop_sd.core.backend import StepCallback
from desktop_sd.core.disk_errors import os_error_reason
from desktop_sd.core.errors import DesktopSDError


def step_printer(unit: str) -> StepCallback:
    """A step callback printing ``UNIT n/total`` lines on stderr ("step 3/20", "tile 2/9")."""

    def on_step(step: int, total: int, preview: object = None) -> None:
        print(f"{unit} {step}/{total}", file=sys.stderr, flush=True)

    return on_step


def print_notes(notices: Iterable[str]) -> None:
    """Each notice as a ``note:`` line on stderr."""
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)


def write_png(target: Path, data: bytes) -> None:
    """Write a PNG's bytes to ``target`` (its folder made, the file replaced whole) and print the path.

    Raises ``DesktopSDError`` naming the file and why it could not be written, with the way out.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)
    except OSError as exc:
        raise DesktopSDError(f"Could not write {target}: {os_error_reason(exc)}. Choose another --out.") from None
    print(target)
