"""Upscaler model files: where they are, importing them, and downloading the catalog's.

They live in ``<models>/upscalers`` and, used in place, in the upscaler folders of linked
AUTOMATIC1111 (``models/ESRGAN``, ``models/RealESRGAN``...) and ComfyUI (``models/upscale_models``)
installs. A name is the file's stem; the app's own folder wins over linked ones. The engine loads
the files (``engine.upscalers``): architecture from the weights, pickles as weights only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from desktop_sd.core import paths
from desktop_sd.core.atomic import atomic_copy
from desktop_sd.core.disk_errors import os_error_reason
from desktop_sd.core.errors import ModelError
from desktop_sd.core.settings import Settings
from desktop_sd.core.upscaling import UPSCALER_SUFFIXES, is_builtin
from desktop_sd.models import network, transfer

# Upscaler folders of other tools, relative to the folder linked in Models.
KNOWN_SUBFOLDERS = (
    "models/ESRGAN",  # AUTOMATIC1111 / Forge
    "models/RealESRGAN",
    "models/SwinIR",
    "models/HAT",
    "models/DAT",
    "models/upscale_models",  # ComfyUI
)


@dataclass(frozen=True)
class UpscalerFile:
    name: str  # the file's stem: what requests and menus call it
    path: Path
    linked: bool  # found in another tool's folder (used in place, never removed by us)


@dataclass(frozen=True)
class CatalogUpscaler:
    """An upscaler offered for download (``upscalers`` in ``resources/catalog.json``)."""

    id: str
    name: str
    url: str
    file: str
    scale: int
    size_bytes: int  # approximate
    licence: str
    licence_url: str
    purpose: str
    sha256: str | None = None


def upscalers_dir() -> Path:
    return paths.models_dir() / "upscalers"


def folders(linked: Iterable[Path] = ()) -> list[Path]:
    """The app's upscaler folder, then each linked tool's upscaler folders that exist."""
    found = [upscalers_dir()]
    for root in linked:
        found += [root / sub for sub in KNOWN_SUBFOLDERS if (root / sub).is_dir()]
    return found


def list_upscalers(linked: Iterable[Path] = ()) -> list[UpscalerFile]:
    """Every upscaler file, by name (the first of a name wins), sorted by name."""
    own = upscalers_dir()
    seen: dict[str, UpscalerFile] = {}
    for folder in folders(linked):
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for path in entries:
            if path.suffix.lower() in UPSCALER_SUFFIXES and path.is_file():
                seen.setdefault(path.stem.lower(), UpscalerFile(path.stem, path, folder != own))
    return sorted(seen.values(), key=lambda u: u.name.lower())


def find_upscaler(name: str, linked: Iterable[Path] = ()) -> Path:
    """The file for an upscaler name (or a path to one). Raises ``ModelError`` saying where to put it."""
    if is_builtin(name):
        raise ModelError(f"{name} is a built-in upscaler and has no file.")
    path = Path(name).expanduser()
    if path.suffix.lower() in UPSCALER_SUFFIXES and path.is_file():
        return path
    wanted = name.strip().lower()
    for found in list_upscalers(linked):
        if wanted in (found.name.lower(), found.path.name.lower()):
            return found.path
    raise ModelError(
        f"No upscaler named {name!r}. Import or download one in Models (or put its .pth or .safetensors file in "
        f"{upscalers_dir()}), or choose Lanczos."
    )


def finder(linked: Callable[[], Iterable[Path]]) -> Callable[[str], Path]:
    """``find_upscaler`` over the folders linked at the time of each call (for the engine)."""
    return lambda name: find_upscaler(name, linked())


def import_upscaler(source: Path) -> UpscalerFile:
    """Copy an upscaler file into the app's folder (all or nothing); an existing name is refused."""
    if source.suffix.lower() not in UPSCALER_SUFFIXES:
        raise ModelError(f"{source.name} is not an upscaler file: choose a .pth or .safetensors upscaler model.")
    if not source.is_file():
        raise ModelError(f"{source} does not exist or is not a file.")
    target = upscalers_dir() / source.name
    if target.exists():
        raise ModelError(f"An upscaler named {source.stem} is already installed. Rename the file to add it too.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_copy(source, target)
    except OSError as exc:
        raise ModelError(f"Could not copy {source.name} into {target.parent}: {os_error_reason(exc)}.") from None
    return UpscalerFile(target.stem, target, False)


def load_upscaler_catalog(path: Path | None = None) -> list[CatalogUpscaler]:
    return list(_catalog(path or paths.resources_dir() / "catalog.json"))


@cache
def _catalog(path: Path) -> tuple[CatalogUpscaler, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return tuple(
            CatalogUpscaler(
                id=str(item["id"]),
                name=str(item["name"]),
                url=str(item["url"]),
                file=str(item["file"]),
                scale=int(item["scale"]),
                size_bytes=int(item["size_bytes"]),
                licence=str(item["licence"]),
                licence_url=str(item["licence_url"]),
                purpose=str(item["purpose"]),
                sha256=item.get("sha256"),
            )
            for item in data.get("upscalers", [])
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"The model catalog {path} could not be read ({exc}). Reinstall Desktop SD.") from None


def download_upscaler(
    entry: CatalogUpscaler,
    *,
    sink: transfer.ByteSink | None = None,
    cancelled: threading.Event | None = None,
    settings: Settings | None = None,
) -> UpscalerFile:
    """Download a catalog upscaler into the app's folder (resumable, verified when a digest is known)."""
    dest = upscalers_dir() / entry.file
    if dest.is_file():
        return UpscalerFile(dest.stem, dest, False)
    network.ensure_online(entry.url, settings)
    dest.parent.mkdir(parents=True, exist_ok=True)
    transfer.fetch(
        entry.url,
        dest,
        expected=transfer.Expected(sha256=entry.sha256),
        sink=sink,
        cancelled=cancelled,
        lock=dest.parent / ".locks" / (dest.name + ".lock"),
        name=entry.name,
    )
    return UpscalerFile(dest.stem, dest, False)
