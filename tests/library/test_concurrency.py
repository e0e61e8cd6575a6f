"""Several threads and processes adding, importing and reconciling one history at once lose nothing.

Every image any of them was told was saved has its file and its record (not
marked missing), and no file is recorded twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from desktop_sd.core.errors import LibraryError
from desktop_sd.library.image_files import TEMP_PREFIX
from desktop_sd.library.store import Library
from tests.library.helpers import make_image, make_request

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 120  # each child stops by then, whatever happens

_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from desktop_sd.library.store import Library
    from tests.library.helpers import make_image, make_request

    role, folder, count, stop_file = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    deadline = float(sys.argv[5])
    out = []
    if role == "reconcile":
        rounds = 0
        while not Path(stop_file).exists() and time.time() < deadline:
            with Library.open(folder, busy_timeout=60, reconcile=False) as library:
                library.reconcile(full=True)
            rounds += 1
        out.append({"rounds": rounds})
    else:
        library = Library.open(folder, busy_timeout=60)
        for i in range(count):
            if time.time() > deadline:
                break
            try:
                if role == "add":
                    record = library.add(make_image((i, 40, 90)), make_request(seed=i), "m")
                    out.append({"file_name": record.file_name, "id": record.id})
                else:
                    source = Path(sys.argv[6]) / f"outside-{i}.png"
                    for record in library.import_files([source]).added:
                        out.append({"file_name": record.file_name, "id": record.id})
            except Exception as exc:
                out.append({"error": f"{type(exc).__name__}: {exc}"})
        library.close()
    print(json.dumps(out))
    """
)


def _child(role: str, folder: Path, count: int, stop_file: Path, extra: str = "") -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", _CHILD, role, str(folder), str(count), str(stop_file), str(time.time() + DEADLINE_S)]
    return subprocess.Popen([*args, extra] if extra else args, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)


def _assert_all_kept(folder: Path, saved: list[dict[str, object]]) -> None:
    with Library.open(folder, reconcile=False) as library:
        rows = library.records.conn.execute("SELECT id, file_name, missing FROM images").fetchall()
    by_name = {name: (image_id, missing) for image_id, name, missing in rows}
    assert len(by_name) == len(rows), "a file is recorded twice"
    for item in saved:
        name = str(item["file_name"])
        assert (folder / name).is_file(), f"{name} was reported saved but its file is gone"
        assert name in by_name, f"{name} was reported saved but has no record"
        assert by_name[name] == (item["id"], 0), f"{name}: record {by_name[name]} (id, missing) differs"


def test_saves_beside_a_continuous_reconcile_in_one_process_all_stay(library: Library) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def reconcile_loop() -> None:
        while not stop.is_set():
            try:
                library.reconcile(full=True)
            except BaseException as exc:  # reported below
                errors.append(exc)
                return

    thread = threading.Thread(target=reconcile_loop)
    thread.start()
    saved = []
    try:
        for i in range(40):
            record = library.add(make_image((i, 0, 0)), make_request(seed=i), "m")
            saved.append({"file_name": record.file_name, "id": record.id})
    finally:
        stop.set()
        thread.join()
    assert not errors
    _assert_all_kept(library.folder, saved)


def test_processes_adding_importing_and_reconciling_one_history_lose_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    Library.open(folder).close()
    outside = tmp_path / "outside"
    outside.mkdir()
    for i in range(10):
        make_image((0, i, 200)).save(outside / f"outside-{i}.png")
    stop_file = tmp_path / "stop"
    reconciler = _child("reconcile", folder, 0, stop_file)
    workers = [_child("add", folder, 20, stop_file) for _ in range(3)]
    workers.append(_child("import", folder, 10, stop_file, str(outside)))
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=DEADLINE_S + 60)
        assert worker.returncode == 0
        results += json.loads(out)
    stop_file.touch()
    out, _ = reconciler.communicate(timeout=DEADLINE_S + 60)
    assert reconciler.returncode == 0
    assert json.loads(out)[0]["rounds"] > 0
    assert [r for r in results if "error" in r] == []
    assert len(results) == 3 * 20 + 10
    _assert_all_kept(folder, results)


def test_processes_opening_a_new_history_at_once_all_open_it(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    code = "import sys; from desktop_sd.library.store import Library as L; L.open(sys.argv[1], busy_timeout=60).close()"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    opening = [
        subprocess.Popen([sys.executable, "-c", code, str(folder)], env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    errors = [opened.communicate(timeout=DEADLINE_S)[1] for opened in opening]
    assert [(opened.returncode, error) for opened, error in zip(opening, errors, strict=True)] == [(0, "")] * 6


def test_reconcile_sweeps_a_young_temp_file_only_when_no_save_is_under_way(library: Library) -> None:
    day = library.folder / "2026-01-01"
    day.mkdir()
    young = day / f"{TEMP_PREFIX}120000-1-abcdef.png"
    old = day / f"{TEMP_PREFIX}110000-1-abcdef.png"
    young.write_bytes(b"being written")
    old.write_bytes(b"left by a crash")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    with library.files.saving():  # as a save in another thread or process holds it while writing
        report = library.reconcile(full=True)
    assert young.exists()
    assert not old.exists()
    assert report.temp_removed == 1
    assert library.reconcile(full=True).temp_removed == 1  # no save under way: the crash's leftover goes
    assert not young.exists()


def test_a_save_whose_file_a_reconcile_indexed_first_takes_over_that_record(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_new = library.files.write_new
    indexed: list[int] = []

    def write_then_reconcile(*args: Any, **kwargs: Any) -> str:
        file_name = write_new(*args, **kwargs)
        indexed.append(library.reconcile(full=True).indexed)  # as another thread or process would, just then
        return file_name

    monkeypatch.setattr(library.files, "write_new", write_then_reconcile)
    record = library.add(make_image(), make_request(prompt="a lighthouse", seed=99), "the-model", parent_id=None)
    assert indexed == [1]
    assert library.count() == 1 and record.path.is_file()
    assert (record.prompt, record.seed, record.model) == ("a lighthouse", 99, "the-model")


def test_a_failed_record_never_takes_back_a_file_someone_else_recorded(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert = library.records.insert

    def reconcile_then_fail(row: dict[str, object], on_step: Any = None) -> int:
        library.reconcile(full=True)  # another process records the file...
        raise LibraryError("the disk is full")  # ...and this save's own record fails

    monkeypatch.setattr(library.records, "insert", reconcile_then_fail)
    with pytest.raises(LibraryError):
        library.add(make_image(), make_request(), "m")
    monkeypatch.setattr(library.records, "insert", insert)
    (kept,) = library.search()
    assert kept.path.is_file() and not kept.missing
