"""The curated list of models offered for download, read from ``resources/catalog.json``.

Data, not code: each entry names the Hub repo, the files to fetch (globs; a
nested list means "the first of these the repo has"), an approximate size,
the licence and what the model is good for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from desktop_sd.core import paths
from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family
from desktop_sd.models.hub import FileSpec


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    family: Family
    inpainting: bool
    kind: str  # "checkpoint" (a whole model), "taesd" (a preview decoder), "vae", "lora", "text_encoders"
    repo_id: str
    revision: str
    files: tuple[FileSpec, ...]
    size_bytes: int  # approximate; the Hub's listing gives the exact size at download time
    licence: str
    licence_url: str
    purpose: str
    resolution: int
    steps: int
    cfg_scale: float
    recommend_min_vram_mb: int | None = None  # offered as the first download on machines with this much
    gated: bool = False  # the Hub serves it only after its licence is accepted there, with a token saved

    @property
    def single_file(self) -> str | None:
        """The one checkpoint file this entry is, or None for a diffusers folder."""
        if len(self.files) == 1 and isinstance(self.files[0], str) and self.files[0].endswith(".safetensors"):
            return self.files[0]
        return None


def _entry(data: dict[str, Any]) -> CatalogEntry:
    files = tuple(f if isinstance(f, str) else list(f) for f in data["files"])
    min_vram = data.get("recommend_min_vram_mb")
    return CatalogEntry(
        id=str(data["id"]),
        name=str(data["name"]),
        family=Family(str(data["family"])),
        inpainting=bool(data.get("inpainting", False)),
        kind=str(data.get("kind", "checkpoint")),
        repo_id=str(data["repo_id"]),
        revision=str(data.get("revision", "main")),
        files=files,
        size_bytes=int(data["size_bytes"]),
        licence=str(data["licence"]),
        licence_url=str(data.get("licence_url", "")),
        purpose=str(data["purpose"]),
        resolution=int(data.get("resolution", 512)),
        steps=int(data.get("steps", 20)),
        cfg_scale=float(data.get("cfg_scale", 7.0)),
        recommend_min_vram_mb=None if min_vram is None else int(min_vram),
        gated=bool(data.get("gated", False)),
    )


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    path = path or paths.resources_dir() / "catalog.json"
    return list(_load(path))


@cache
def _load(path: Path) -> tuple[CatalogEntry, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return tuple(_entry(item) for item in data["models"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"The model catalog {path} could not be read ({exc}). Reinstall Desktop SD.") from None


class Downloaded(Protocol):
    """What ``installed_entries`` reads of an installed model (``registry.InstalledModel`` has these)."""

    @property
    def source(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def available(self) -> bool: ...


def installed_entries(entries: Iterable[CatalogEntry], models: Iterable[Downloaded]) -> set[str]:
    """Ids of the entries downloaded from the catalog, by where the files came from (repo and kind), not by
    id: an imported ``flux1-dev.safetensors`` is not the catalog's FLUX.1 [dev], though its id is the same."""
    downloaded = {(m.origin, m.kind) for m in models if m.available and m.source == "catalog"}
    return {e.id for e in entries if (e.repo_id, e.kind) in downloaded}


def find_entry(entry_id: str) -> CatalogEntry | None:
    for entry in load_catalog():
        if entry.id == entry_id:
            return entry
    return None


def recommendation_reason(entry: CatalogEntry, vram_mb: int | None) -> str:
    """Why ``entry`` is offered first on this machine (``vram_mb`` None: no GPU), in a sentence shown beside it."""
    if not vram_mb:
        return (
            "No GPU was found, so images are made on the CPU, where each step takes seconds: "
            f"{entry.name} makes a usable image in {max(1, entry.steps)} to 4 steps instead of 25 or more. "
            "For drafts, “Fast decode” saves most of the decoding time too."
        )
    return f"This GPU has {vram_mb / 1024:.0f} GB of video memory, enough for {entry.name}."


def recommended(entries: list[CatalogEntry], vram_mb: int | None) -> CatalogEntry | None:
    """The entry to offer first: the most demanding one this machine's GPU (None: no GPU) is suited to."""
    available = vram_mb or 0
    suited = [e for e in entries if e.recommend_min_vram_mb is not None and e.recommend_min_vram_mb <= available]
    return max(suited, key=lambda e: e.recommend_min_vram_mb or 0, default=None)
