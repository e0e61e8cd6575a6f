"""The converter process: pickle checkpoints (``.ckpt``) become ``.safetensors`` once, in a child.

A pickle can carry code. It is never unpickled in the app's own process: a
child runs ``desktop-sd models convert-ckpt SRC DST`` (``engine.pickle_to_safetensors``),
which loads only tensors and writes the new file atomically. This module only
starts the child and turns its answer into a ``ModelError``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from desktop_sd.core.errors import ModelError

TIMEOUT_S = 30 * 60


def converter_command(src: Path, dst: Path) -> list[str]:
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: the executable is the app itself
        return [sys.executable, "models", "convert-ckpt", str(src), str(dst)]
    return [sys.executable, "-m", "desktop_sd", "models", "convert-ckpt", str(src), str(dst)]


def convert_in_child(src: Path, dst: Path, timeout: float = TIMEOUT_S) -> None:
    """Convert ``src`` to ``dst``; raises ``ModelError`` with the child's reason when refused or failed."""
    try:
        result = subprocess.run(
            converter_command(src, dst),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ModelError(
            f"Converting {src.name} took longer than {timeout / 60:.0f} minutes and was stopped."
        ) from None
    except OSError as exc:
        raise ModelError(f"Could not start the converter for {src.name}: {exc.strerror or exc}.") from None
    if result.returncode != 0 or not dst.is_file():
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"the converter exited with code {result.returncode}"
        if result.returncode < 0 or ("Traceback" in result.stderr and result.returncode != 2):
            reason = f"the converter crashed ({reason})"
        raise ModelError(reason if reason.endswith(".") else reason + ".")
