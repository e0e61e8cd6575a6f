"""Where textual-inversion embeddings are found: ``<models>/embeddings``, by file name.

A prompt names an embedding by its file name without the extension, as in A1111
(``easynegative`` for ``easynegative.safetensors``); case does not matter, since
CLIP reads prompts in lower case. Sub-folders are searched too.
"""

from __future__ import annotations

import os
from pathlib import Path

from desktop_sd.core import paths

EMBEDDING_SUFFIXES = (".safetensors", ".pt", ".bin")


def embeddings_dir() -> Path:
    return paths.models_dir() / "embeddings"


def find_embedding(name: str, folder: Path | None = None) -> Path | None:
    """The embedding file named ``name`` in ``folder`` (default ``<models>/embeddings``), or None.

    A ``.safetensors`` file wins over a pickle of the same name.
    """
    wanted = name.strip().lower()
    if not wanted:
        return None
    found: dict[str, Path] = {}
    for path in _files(folder or embeddings_dir()):
        if path.stem.lower() == wanted and path.suffix.lower() in EMBEDDING_SUFFIXES:
            found.setdefault(path.suffix.lower(), path)
    return next((found[s] for s in EMBEDDING_SUFFIXES if s in found), None)


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
