"""Start-up check of the library folder against the database.

Files added behind the app's back are indexed from their metadata, records
whose file has gone are marked missing (and unmarked when it comes back),
and temp files left by a crash mid-write are removed by ``sweep_temp``
(which leaves those a save may still be writing: see ``image_files``).

Other threads and processes may be saving into the folder meanwhile: a
folder's records are read before it is listed, and each file is indexed only
if, inside the write transaction, no record has it yet; so a save that
renames its file and records it at any moment is never indexed twice, nor
marked missing.

To stay fast at 100,000 images, a folder is listed only when its
modification time differs from the one stored after its last listing
(adding or removing a file changes it); unchanged folders cost one ``stat``.
A folder changed within the last few seconds is not recorded as seen, so a
change in the same clock tick as the listing is caught next time.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from desktop_sd.library.image_files import TEMP_PREFIX, is_image_name
from desktop_sd.library.probe import NotAnImage, probe_image
from desktop_sd.library.records import ReconcileReport
from desktop_sd.library.rows import insert_row, row_for_parsed

SETTLE_NS = 3_000_000_000  # coarse file systems (FAT: 2 s) may not show a change made this soon after listing
SweepTemp = Callable[[Path], bool]


@dataclass
class _Tally:
    indexed: int = 0
    missing: int = 0
    found: int = 0
    temp_removed: int = 0
    folders_scanned: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _relative(root: Path, folder: str) -> Path:
    return root.joinpath(*folder.split("/")) if folder else root


def _skip_dir(name: str) -> bool:
    return name.startswith(".")


def reconcile(
    conn: sqlite3.Connection,
    root: Path,
    transaction: Callable[[], contextlib.AbstractContextManager[None]],
    sweep_temp: SweepTemp,
    full: bool = False,
) -> ReconcileReport:
    """Compare ``root`` with the records; ``full`` lists every folder whatever its time.

    ``sweep_temp(path)`` removes a temp file if no save may still be writing it.
    """
    tally = _Tally()
    known = dict(conn.execute("SELECT name, mtime_ns FROM folders").fetchall())
    candidates = set(known) | {row[0] for row in conn.execute("SELECT DISTINCT folder FROM images")} | {""}
    queue = sorted(candidates)
    seen: set[str] = set()
    while queue:
        folder = queue.pop()
        if folder in seen:
            continue
        seen.add(folder)
        path = _relative(root, folder)
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            _folder_gone(conn, folder, transaction, tally)
            continue
        if not full and known.get(folder) == mtime:
            continue
        subfolders = _scan(conn, root, folder, transaction, sweep_temp, tally)
        queue += [s for s in subfolders if s not in seen]
        settled = time.time_ns() - mtime > SETTLE_NS
        with transaction():
            if settled:
                conn.execute("INSERT OR REPLACE INTO folders (name, mtime_ns) VALUES (?, ?)", (folder, mtime))
            else:
                conn.execute("DELETE FROM folders WHERE name = ?", (folder,))
    return ReconcileReport(
        indexed=tally.indexed,
        missing=tally.missing,
        found=tally.found,
        temp_removed=tally.temp_removed,
        folders_scanned=tally.folders_scanned,
        skipped=tuple(tally.skipped),
    )


def _folder_gone(
    conn: sqlite3.Connection,
    folder: str,
    transaction: Callable[[], contextlib.AbstractContextManager[None]],
    tally: _Tally,
) -> None:
    with transaction():
        cursor = conn.execute("UPDATE images SET missing = 1 WHERE folder = ? AND missing = 0", (folder,))
        tally.missing += cursor.rowcount
        conn.execute("DELETE FROM folders WHERE name = ?", (folder,))


def _scan(
    conn: sqlite3.Connection,
    root: Path,
    folder: str,
    transaction: Callable[[], contextlib.AbstractContextManager[None]],
    sweep_temp: SweepTemp,
    tally: _Tally,
) -> list[str]:
    """List one folder and bring its records in line; returns its subfolders."""
    tally.folders_scanned += 1
    path = _relative(root, folder)
    prefix = f"{folder}/" if folder else ""
    files: set[str] = set()
    subfolders: list[str] = []
    # Records first, then the listing: a file saved in between is listed and found recorded by _index.
    records = conn.execute("SELECT id, file_name, missing FROM images WHERE folder = ?", (folder,)).fetchall()
    try:
        entries = list(os.scandir(path))
    except OSError as exc:
        tally.skipped.append((path, f"could not be listed ({exc.strerror or exc})"))
        return []
    for entry in entries:
        name = entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir:
            if not _skip_dir(name):
                subfolders.append(prefix + name)
        elif name.startswith(TEMP_PREFIX):
            if sweep_temp(Path(entry.path)):
                tally.temp_removed += 1
        elif is_image_name(name):
            files.add(name)
    recorded = {file_name.rpartition("/")[2]: (image_id, missing) for image_id, file_name, missing in records}
    gone = [image_id for name, (image_id, missing) in recorded.items() if name not in files and not missing]
    back = [image_id for name, (image_id, missing) in recorded.items() if name in files and missing]
    with transaction():
        for ids, flag in ((gone, 1), (back, 0)):
            for image_id in ids:
                conn.execute("UPDATE images SET missing = ? WHERE id = ?", (flag, image_id))
    tally.missing += len(gone)
    tally.found += len(back)
    for name in sorted(files - recorded.keys()):
        _index(conn, path / name, prefix + name, transaction, tally)
    return subfolders


def _index(
    conn: sqlite3.Connection,
    file: Path,
    file_name: str,
    transaction: Callable[[], contextlib.AbstractContextManager[None]],
    tally: _Tally,
) -> None:
    try:
        file_name.encode("utf-8")
    except UnicodeEncodeError:
        tally.skipped.append((file, "its name is not valid UTF-8; rename it to add it to the library"))
        return
    try:
        probe = probe_image(file)
        created = file.stat().st_mtime
    except (NotAnImage, OSError) as exc:
        tally.skipped.append((file, str(exc)))
        return
    row = row_for_parsed(probe.parameters, file_name, created, (probe.width, probe.height))
    with transaction():
        if conn.execute("SELECT 1 FROM images WHERE file_name = ?", (file_name,)).fetchone() is not None:
            return  # saved and recorded by someone else since the folder's records were read
        insert_row(conn, row)
    tally.indexed += 1
