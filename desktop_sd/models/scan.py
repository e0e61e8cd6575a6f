"""Finding models inside folders other tools manage: AUTOMATIC1111, ComfyUI, InvokeAI, or any folder.

Models found there are used in place, never moved or copied. Each file is
identified from its contents (``inspection.detect``); LoRAs, VAEs and other
add-ons are skipped. Results are cached by (path, size, modification time),
so listing a folder of hundreds of files again costs only ``stat`` calls.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family
from desktop_sd.models import inspection

# Where each tool keeps whole checkpoints, relative to its own folder.
KNOWN_SUBFOLDERS = (
    "models/Stable-diffusion",  # AUTOMATIC1111 / Forge / SD.Next
    "models/checkpoints",  # ComfyUI
    "models/diffusers",  # ComfyUI (diffusers folders)
    "models/sd-1/main",  # InvokeAI
    "models/sd-2/main",
    "models/sdxl/main",
    "models/sdxl-refiner/main",
)
MAX_DEPTH = 6
_SKIP_DIRS = {".git", "__pycache__", "node_modules", "venv", ".venv", "lora", "loras", "embeddings", "controlnet"}


@dataclass(frozen=True)
class Found:
    path: Path
    family: Family
    inpainting: bool
    kind: str  # "checkpoint" or "diffusers"


_cache: dict[tuple[str, int, int], Found | None] = {}
_cache_lock = threading.Lock()


def roots_to_scan(folder: Path) -> list[Path]:
    """The checkpoint folders of a known tool layout under ``folder``, else ``folder`` itself."""
    known = [folder / sub for sub in KNOWN_SUBFOLDERS if (folder / sub).is_dir()]
    return known or [folder]


def identify(path: Path) -> Found | None:
    """A whole model at ``path`` (a ``.safetensors`` checkpoint or a diffusers folder), else None."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    found: Found | None = None
    if path.is_dir():
        if (path / "model_index.json").is_file():
            family, inpainting = inspection.describe_folder(path)
            found = Found(path, family, inpainting, "diffusers")
    elif path.suffix.lower() == ".safetensors":
        try:
            info = inspection.detect(path)
        except ModelError:
            info = None  # corrupt or partial: not offered
        if info is not None and info.kind == "checkpoint":
            found = Found(path, info.family, info.inpainting, "checkpoint")
    with _cache_lock:
        _cache[key] = found
    return found


def find_models(folder: Path) -> list[Found]:
    """Every whole model under ``folder`` (see the module docstring), sorted by path."""
    results: list[Found] = []
    for root in roots_to_scan(folder):
        base_depth = len(root.parts)
        for current, dirs, files in os.walk(root, followlinks=False):
            here = Path(current)
            if (here / "model_index.json").is_file():
                found = identify(here)
                if found is not None:
                    results.append(found)
                dirs[:] = []
                continue
            dirs[:] = (
                sorted(d for d in dirs if not d.startswith(".") and d.lower() not in _SKIP_DIRS)
                if len(here.parts) - base_depth < MAX_DEPTH
                else []
            )
            for name in sorted(files):
                if name.lower().endswith(".safetensors"):
                    found = identify(here / name)
                    if found is not None:
                        results.append(found)
    return sorted(results, key=lambda f: str(f.path))
