"""Fixtures for the history store: a library in a temp folder whose trash is a folder we can look in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_sd.library.store import Library


class FolderTrash:
    """Stands in for the system trash: moves files into a folder and remembers them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.trashed: list[Path] = []

    def __call__(self, path: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.move(path, self.folder / f"{len(self.trashed)}-{path.name}")
        self.trashed.append(path)


@pytest.fixture
def trash(tmp_path: Path) -> FolderTrash:
    return FolderTrash(tmp_path / "trash")


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    return tmp_path / "library"


@pytest.fixture
def library(library_dir: Path, trash: FolderTrash) -> Iterator[Library]:
    lib = Library.open(library_dir, trash=trash)
    yield lib
    lib.close()
