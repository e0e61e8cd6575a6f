"""Where textual-inversion embeddings are found: ``<models>/embeddings`` and the linked A1111 and ComfyUI
folders (``embeddings``, ``models/embeddings``), by file name.

A prompt names an embedding by its file name without the extension, as in A1111
(``easynegative`` for ``easynegative.safetensors``); case does not matter, since
CLIP reads prompts in lower case. Sub-folders are searched too.
"""

from __future__ import annotations

import os
from pathlib import Path

from desktop_sd.core import paths
from desktop_sd.models.addons import AddonKind, linked_app_folders, linked_folders

EMBEDDING_SUFFIXES = (".safetensors", ".pt", ".bin")


def embeddings_dir() -> Path:
    return paths.models_dir() / "embeddings"


def embedding_files(folder: Path | None = None) -> dict[str, Path]:
    """Every embedding file by its name in lower case, from one look at the folders: ``folder`` alone, or
    Desktop SD's own ``<models>/embeddings`` first, then the linked apps' embedding folders (as the model
    manager lists them). The first folder holding a name wins; within a folder a ``.safetensors`` file wins
    over a pickle of the same name."""
    found: dict[str, Path] = {}
    for place in [folder] if folder is not None else _folders():
        here: dict[str, Path] = {}
        files = [p for p in _files(place) if p.suffix.lower() in EMBEDDING_SUFFIXES]
        for path in sorted(files, key=lambda p: EMBEDDING_SUFFIXES.index(p.suffix.lower())):
            here.setdefault(path.stem.lower(), path)
        for name, path in here.items():
            found.setdefault(name, path)
    return found


def find_embedding(name: str, folder: Path | None = None) -> Path | None:
    """The embedding file named ``name`` (case does not matter), or None; see ``embedding_files``."""
    wanted = name.strip().lower()
    return embedding_files(folder).get(wanted) if wanted else None


def _folders() -> list[Path]:
    return [embeddings_dir(), *linked_folders(AddonKind.EMBEDDING, linked_app_folders())]


def _files(folder: Path) -> list[Path]:
    files: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no folder yet, or one that cannot be read: no embeddings
        return files
    for entry in entries:
        try:
            if entry.is_dir():
                files += _files(Path(entry.path))
            elif entry.is_file():
                files.append(Path(entry.path))
        except OSError:
            continue
    return files
