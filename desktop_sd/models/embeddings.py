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


def find_embedding(name: str, folder: Path | None = None) -> Path | None:
    """The embedding file named ``name`` in ``folder``, or None. Without a folder: Desktop SD's own
    ``<models>/embeddings`` first, then the linked apps' embedding folders (as the model manager lists them).

    A ``.safetensors`` file wins over a pickle of the same name in the same folder.
    """
    wanted = name.strip().lower()
    if not wanted:
        return None
    for place in [folder] if folder is not None else _folders():
        found: dict[str, Path] = {}
        for path in _files(place):
            if path.stem.lower() == wanted and path.suffix.lower() in EMBEDDING_SUFFIXES:
                found.setdefault(path.suffix.lower(), path)
        if found:
            return next(found[s] for s in EMBEDDING_SUFFIXES if s in found)
    return None


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
