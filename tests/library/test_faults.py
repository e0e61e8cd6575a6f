"""Faults on save: full or read-only disk, a locked database, and a crash at every write point."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from desktop_sd.core.errors import LibraryError
from desktop_sd.library.image_files import FAULT_ENV, FAULT_EXIT_CODE, SAVE_POINTS
from desktop_sd.library.store import Library
from tests.library.helpers import make_image, make_request

ROOT = Path(__file__).resolve().parents[2]


def _image_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.suffix == ".png" and ".thumbnails" not in p.parts]


def _all_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("target", "code", "words"),
    [
        ("fsync", errno.ENOSPC, "the disk is full. Free some space"),
        ("open", errno.EROFS, "the disk is read-only"),
        ("open", errno.EACCES, "permission denied"),
        ("replace", errno.ENAMETOOLONG, "the path is too long"),
    ],
)
def test_disk_errors_on_save_leave_nothing_behind(
    library: Library, monkeypatch: pytest.MonkeyPatch, target: str, code: int, words: str
) -> None:
    kept = library.add(make_image(), make_request(), "m")
    real = getattr(os, target)

    def fail(*args: object, **kwargs: object) -> object:
        if target == "open" and "library.db" in str(args[0]):
            return real(*args, **kwargs)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, target, fail)
    with pytest.raises(LibraryError, match=words):
        library.add(make_image(), make_request(), "m")
    monkeypatch.undo()
    assert _image_files(library.folder) == [kept.path]
    assert not [p for p in _all_files(library.folder) if p.name.startswith(".tmp-")]
    assert [r.id for r in library.search()] == [kept.id]
    assert library.add(make_image(), make_request(), "m").path.exists()  # and the next save works


def test_an_unwritable_library_folder_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    with pytest.raises(LibraryError, match="Could not create the library folder"):
        Library.open(blocker / "library")


def test_a_database_locked_by_another_instance(library_dir: Path) -> None:
    Library.open(library_dir).close()
    library = Library.open(library_dir, busy_timeout=0.2)
    other = sqlite3.connect(library_dir / "library.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LibraryError, match="in use by another program"):
            library.add(make_image(), make_request(), "m")
        assert _image_files(library_dir) == []  # the file went away with the failed record
        assert library.search() == []  # reading still works while another writes
        with pytest.raises(LibraryError, match=r"stayed locked for 0\.2 s"):
            Library.open(library_dir, busy_timeout=0.2).close()
    finally:
        other.execute("ROLLBACK")
        other.close()
    record = library.add(make_image(), make_request(), "m")
    assert library.get(record.id) is not None
    library.close()


_CHILD = textwrap.dedent(
    """
    import sys
    from PIL import Image
    from desktop_sd.core.request import GenerationRequest, Mode
    from desktop_sd.library.store import Library
    library = Library.open(sys.argv[1])
    request = GenerationRequest(mode=Mode.TXT2IMG, prompt="saved during a crash", seed=5, width=64, height=64)
    library.add(Image.new("RGB", (64, 64), "green"), request, "tiny-sd")
    library.close()
    """
)


@pytest.mark.parametrize("point", SAVE_POINTS)
def test_killed_at_each_write_point_nothing_is_lost_or_half_written(library_dir: Path, point: str) -> None:
    with Library.open(library_dir) as library:
        before = library.add(make_image(), make_request(prompt="already here"), "m")
    env = {**os.environ, FAULT_ENV: point, "PYTHONPATH": str(ROOT)}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(library_dir)], env=env, capture_output=True, text=True, timeout=60
    )
    assert child.returncode == FAULT_EXIT_CODE, child.stderr

    with Library.open(library_dir) as library:
        assert library.records.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        records = library.search(limit=100)
        on_disk = sorted(_image_files(library_dir))
        assert sorted(r.path for r in records) == on_disk  # every record its file, every file its record
        assert not any(r.missing for r in records)
        assert all(p.stat().st_size > 0 for p in _all_files(library_dir) if "library.db" not in p.name)
        assert not [p for p in _all_files(library_dir) if p.name.startswith(".tmp-")]
        prompts = sorted(r.prompt for r in records)
        saved = SAVE_POINTS.index(point) >= SAVE_POINTS.index("renamed")
        assert prompts == (["already here", "saved during a crash"] if saved else ["already here"])
        if saved:
            crashed = next(r for r in records if r.prompt == "saved during a crash")
            assert (crashed.seed, crashed.model, crashed.source) == (5, "tiny-sd", "Desktop SD")
        assert library.get(before.id) is not None


def test_reading_never_waits_for_a_save_in_progress(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gallery reads on the GUI thread while results are saved on another: a slow disk must not stall it."""
    library.add(make_image(), make_request(prompt="already here"), "m")
    writing, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        writing.set()
        release.wait(10)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    saver = threading.Thread(target=lambda: library.add(make_image(), make_request(prompt="slow"), "m"))
    saver.start()
    try:
        assert writing.wait(10)
        started = time.perf_counter()
        assert [r.prompt for r in library.search()] == ["already here"]
        assert library.count("here") == 1 and library.page_ids() != []
        elapsed = time.perf_counter() - started
    finally:
        release.set()
        saver.join()
    assert elapsed < 1.0  # it would be 10 s if reads waited for the save
    assert library.count() == 2
