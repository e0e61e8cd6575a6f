"""What the machine offers, found without importing torch (the GUI must start fast)."""

from __future__ import annotations

import shutil
import subprocess


def gpu_vram_mb(timeout: float = 3.0) -> int | None:
    """Total memory of the largest NVIDIA GPU from ``nvidia-smi``, or None without one (or without the tool)."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    try:
        result = subprocess.run(
            [tool, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    sizes = []
    for line in result.stdout.splitlines():
        try:
            sizes.append(int(float(line.strip())))
        except ValueError:
            continue
    return max(sizes, default=None)
