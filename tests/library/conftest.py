"""Fixtures for the history store: a library in a temp folder whose trash is a folder we can look in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_sd.library.store import Library
from tests.library.helpers import FolderTrash


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
