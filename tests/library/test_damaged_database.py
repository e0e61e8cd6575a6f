"""A damaged history database: every operation says so with the way out, and the history can be rebuilt
from the PNGs, which carry their parameters."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_sd.core.errors import LibraryDamagedError
from desktop_sd.library.image_records import DB_NAME
from desktop_sd.library.store import Library
from tests.library.helpers import make_image, make_request

DAMAGED_FROM = 8192  # past the first pages: the database still opens


def _damaged_library(folder: Path, count: int = 12) -> list[str]:
    with Library.open(folder) as library:
        prompts = [
            library.add(make_image((i, 0, 0)), make_request(prompt=f"fox {i}", seed=i), "m").prompt
            for i in range(count)
        ]
    db = folder / DB_NAME
    noise = random.Random(7)
    with open(db, "r+b") as stream:
        stream.seek(DAMAGED_FROM)
        stream.write(bytes(noise.randrange(256) for _ in range(db.stat().st_size - DAMAGED_FROM)))
    return prompts


OPERATIONS: dict[str, Callable[[Library], object]] = {
    "reconcile": lambda library: library.reconcile(full=True),
    "search": lambda library: library.search("fox"),
    "count": lambda library: library.count(),
    "page": lambda library: library.page_ids("fox"),
    "save": lambda library: library.add(make_image(), make_request(), "m"),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_operation_on_a_damaged_database_says_it_is_damaged_and_how_to_rebuild(
    tmp_path: Path, operation: str
) -> None:
    folder = tmp_path / "library"
    _damaged_library(folder)
    with Library.open(folder, reconcile=False) as library, pytest.raises(LibraryDamagedError) as caught:
        OPERATIONS[operation](library)
    message = str(caught.value)
    assert "history database" in message and "is damaged" in message
    assert "desktop-sd library --library" in message and "rebuild`" in message
    assert caught.value.folder == folder


def test_opening_a_damaged_database_with_a_reconcile_says_it_is_damaged(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    _damaged_library(folder)
    with pytest.raises(LibraryDamagedError, match="is damaged"):
        Library.open(folder)


def test_rebuild_keeps_the_damaged_file_aside_and_indexes_every_image(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    prompts = _damaged_library(folder)
    damaged = (folder / DB_NAME).read_bytes()
    with Library.rebuild(folder) as library:
        assert sorted(r.prompt for r in library.search(limit=100)) == sorted(prompts)
        assert library.last_reconcile.indexed == len(prompts)
        assert library.search("fox 3")[0].seed == 3
        assert library.add(make_image(), make_request(prompt="after"), "m").path.is_file()
    kept = [p for p in folder.iterdir() if p.name.startswith("library.damaged-")]
    assert [p.read_bytes() for p in kept if p.suffix == ".db"] == [damaged]


def test_two_rebuilds_keep_both_damaged_files(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    _damaged_library(folder, count=2)
    Library.rebuild(folder).close()
    (folder / DB_NAME).write_bytes(b"not a database" * 500)
    Library.rebuild(folder).close()
    assert len([p for p in folder.iterdir() if p.name.startswith("library.damaged-") and p.suffix == ".db"]) == 2
