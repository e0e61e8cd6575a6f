"""Moving the library to another folder, or pointing at one that already holds a library."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from desktop_sd.core import paths
from desktop_sd.core.errors import LibraryError
from desktop_sd.library import library_files
from desktop_sd.library.store import Library
from tests.library.helpers import make_image, make_request


def test_the_default_library_lives_in_the_user_data_folder(isolated_home: Path) -> None:
    with Library.open() as library:
        assert library.folder == paths.default_library_dir()
        assert library.folder.is_relative_to(isolated_home)


def test_move_to_a_new_folder_keeps_everything(library: Library, tmp_path: Path) -> None:
    record = library.add(make_image(), make_request(prompt="moving day"), "m")
    library.set_favourite(record.id)
    old = library.folder
    moved = library.move_to(tmp_path / "elsewhere" / "library")
    try:
        assert library.closed and not (old / "library.db").exists()
        again = moved.get(record.id)
        assert again is not None and again.favourite and again.path.is_file()
        assert again.path.is_relative_to(moved.folder) and not again.missing
        assert moved.search("moving") == [again]
        assert moved.last_reconcile.missing == 0 and moved.last_reconcile.indexed == 0
    finally:
        moved.close()


def test_move_across_disks_copies_then_removes(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = library.add(make_image(), make_request(), "m")
    real_rename = library_files.os.rename
    calls: list[str] = []

    def cross_device(src: object, dst: object) -> None:
        if not calls:
            calls.append("refused")
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(src, dst)

    monkeypatch.setattr(library_files.os, "rename", cross_device)
    old = library.folder
    moved = library.move_to(tmp_path / "other-disk")
    try:
        assert calls == ["refused"] and not old.exists()
        assert moved.get(record.id).path.is_file()
    finally:
        moved.close()


def test_a_failed_move_leaves_the_library_where_it_was(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = library.add(make_image(), make_request(), "m")

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(library_files.os, "rename", refuse)
    monkeypatch.setattr(library_files.shutil, "copytree", refuse)
    with pytest.raises(LibraryError, match="disk is full"):
        library.move_to(tmp_path / "full-disk")
    monkeypatch.undo()
    assert not library.closed and library.get(record.id).path.is_file()
    assert not (tmp_path / "full-disk").exists() and not (tmp_path / ".full-disk.moving").exists()


def test_move_refuses_unsuitable_destinations(library: Library, tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="outside"):
        library.move_to(library.folder / "inside")
    with pytest.raises(LibraryError, match="already in"):
        library.move_to(library.folder)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something.txt").write_text("x")
    with pytest.raises(LibraryError, match="not empty"):
        library.move_to(busy)
    other = tmp_path / "other-library"
    Library.open(other).close()
    with pytest.raises(LibraryError, match="open it instead"):
        library.move_to(other)
    assert not library.closed


def test_re_pointing_to_an_existing_library(library: Library, tmp_path: Path) -> None:
    other_folder = tmp_path / "other-library"
    with Library.open(other_folder) as other:
        theirs = other.add(make_image(), make_request(prompt="from the other library"), "m")
    assert Library.is_library(other_folder) and not Library.is_library(tmp_path)
    shutil.copytree(other_folder, tmp_path / "copy")
    with Library.open(tmp_path / "copy") as copy:
        found = copy.search("other")
        assert [r.id for r in found] == [theirs.id] and found[0].path.is_file()
        assert found[0].path.is_relative_to(tmp_path / "copy")
