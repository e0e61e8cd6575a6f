"""The parts of ``Library`` that move files around: delete, export, import, and moving the library."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_sd.core.errors import LibraryError
from desktop_sd.library import thumbnails
from desktop_sd.library.files import copy_atomic, describe_os_error, is_image_name, safe_stem, unique_name
from desktop_sd.library.probe import NotAnImage, probe_image
from desktop_sd.library.records import ImageRecord, ImportReport, LibraryEventKind
from desktop_sd.library.rows import insert_row, row_for_parsed

if TYPE_CHECKING:
    from desktop_sd.library.store import Library


@dataclass(frozen=True)
class ExportReport:
    exported: tuple[Path, ...] = ()
    skipped: tuple[tuple[Path, str], ...] = ()


def _walk_images(folder: Path, exclude: Path) -> Iterator[Path]:
    """Image files under ``folder`` (hidden folders and the library itself left out), sorted."""
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != exclude)
        for name in sorted(files):
            if is_image_name(name):
                yield here / name


class LibraryFilesMixin:
    """Delete, export, import and move; mixed into ``Library`` (see there for the attributes used)."""

    folder: Path
    _conn: sqlite3.Connection | None
    _reader: sqlite3.Connection | None
    _lock: threading.RLock
    _trash: Callable[[Path], None]

    if TYPE_CHECKING:

        @property
        def conn(self) -> sqlite3.Connection: ...
        def _transaction(self) -> contextlib.AbstractContextManager[None]: ...
        def _notify(self, kind: LibraryEventKind, ids: Iterable[int] = ()) -> None: ...
        def get_many(self, ids: Sequence[int]) -> list[ImageRecord]: ...
        def close(self) -> None: ...

    def delete(self, ids: Iterable[int]) -> tuple[int, ...]:
        """Send the files to the trash (or remove them where there is none) and drop their records.

        Returns the ids removed. A file that cannot be removed keeps its
        record, and a ``LibraryError`` names it after the others are done.
        """
        records = self.get_many(list(dict.fromkeys(int(i) for i in ids)))
        removed: list[int] = []
        failed: list[tuple[Path, str]] = []
        for record in records:
            try:
                if record.path.exists():
                    self._trash(record.path)
            except OSError as exc:
                failed.append((record.path, exc.strerror or str(exc)))
                continue
            removed.append(record.id)
            thumbnails.remove_thumbnail(self.folder, record.file_name)
        if removed:
            with self._transaction():
                for start in range(0, len(removed), 500):
                    chunk = removed[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    self.conn.execute(f"DELETE FROM images WHERE id IN ({marks})", chunk)
                    self.conn.execute(f"UPDATE images SET parent_id = NULL WHERE parent_id IN ({marks})", chunk)
            self._notify(LibraryEventKind.REMOVED, removed)
        if failed:
            path, reason = failed[0]
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            raise LibraryError(f"Could not delete {path}{more}: {reason}. Close programs using it and try again.")
        return tuple(removed)

    def export(self, ids: Iterable[int], folder: Path | str) -> ExportReport:
        """Copy the images (metadata intact) into ``folder``; names that clash get a number."""
        target = Path(folder)
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise describe_os_error(exc, "create the export folder", target) from exc
        exported: list[Path] = []
        skipped: list[tuple[Path, str]] = []
        for record in self.get_many(list(dict.fromkeys(int(i) for i in ids))):
            if not record.path.is_file():
                skipped.append((record.path, "the file is missing"))
                continue
            destination = target / record.path.name
            counter = 1
            while destination.exists():
                destination = target / f"{record.path.stem}-{counter}{record.path.suffix}"
                counter += 1
            try:
                copy_atomic(record.path, destination)
            except OSError as exc:
                raise describe_os_error(exc, f"export {record.path.name}", target) from exc
            exported.append(destination)
        return ExportReport(tuple(exported), tuple(skipped))

    def import_files(self, paths: Iterable[Path | str]) -> ImportReport:
        """Copy images (and folders of them) into the library, reading whatever metadata they carry.

        Damaged files and non-images are skipped with the reason; images with
        no readable metadata come in as plain images.
        """
        files: list[Path] = []
        root = self.folder.resolve()
        added: list[ImageRecord] = []
        skipped: list[tuple[Path, str]] = []
        for item in paths:
            path = Path(item)
            if path.resolve().is_relative_to(root):
                skipped.append((path, "it is already in the library"))
            elif path.is_dir():
                files += _walk_images(path, root)
            else:
                files.append(path)
        for path in files:
            try:
                image_id = self._import_one(path)
            except NotAnImage as exc:
                skipped.append((path, str(exc)))
                continue
            except OSError as exc:
                skipped.append((path, exc.strerror or str(exc)))
                continue
            added += self.get_many([image_id])
        if added:
            self._notify(LibraryEventKind.ADDED, [r.id for r in added])
        return ImportReport(tuple(added), tuple(skipped))

    def _import_one(self, source: Path) -> int:
        if not source.is_file():
            raise NotAnImage("it is not a file")
        probe = probe_image(source, verify=True)
        suffix = source.suffix.lower() if source.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp") else ""
        suffix = suffix or {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}.get(probe.format, "")
        if not suffix:
            raise NotAnImage(f"{probe.format} images are not kept in the library; convert it to PNG first")
        created = source.stat().st_mtime
        day = time.strftime("%Y-%m-%d")
        folder = self.folder / day
        with self._lock:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                name = unique_name(folder, safe_stem(source.stem), suffix)
                copy_atomic(source, folder / name)
            except OSError as exc:
                raise describe_os_error(exc, f"import {source.name}", folder) from exc
            row = row_for_parsed(probe.parameters, f"{day}/{name}", created, (probe.width, probe.height))
            try:
                with self._transaction():
                    return insert_row(self.conn, row)
            except BaseException:
                with contextlib.suppress(OSError):
                    (folder / name).unlink()
                raise

    def move_to(self, destination: Path | str, **open_options: Any) -> Library:
        """Move the whole library (images, database, thumbnails) to ``destination`` and open it there.

        ``destination`` must be new or empty. This library is closed; use the
        one returned. To use a folder that already holds a library, open it
        with ``Library.open`` instead. On failure the library stays where it was.
        """
        from desktop_sd.library.store import Library

        source = self.folder.resolve()
        target = Path(destination).expanduser().resolve()
        if target == source:
            raise LibraryError(f"The library is already in {target}.")
        if target.is_relative_to(source) or source.is_relative_to(target):
            raise LibraryError(f"Choose a folder outside {source} (and not one that contains it).")
        if Library.is_library(target):
            raise LibraryError(f"{target} already holds a library: open it instead of moving this one onto it.")
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise LibraryError(f"{target} is not empty. Choose a new or empty folder.")
        self.close()
        try:
            _move_tree(source, target)
        except OSError as exc:
            with contextlib.suppress(LibraryError):
                self._reopen()
            raise describe_os_error(exc, "move the library", target) from exc
        return Library.open(target, **open_options)

    def _reopen(self) -> None:
        from desktop_sd.library.store import Library

        again = Library.open(self.folder, reconcile=False)
        self._conn, again._conn = again._conn, None
        self._reader, again._reader = again._reader, None


def _move_tree(source: Path, target: Path) -> None:
    """Rename when on the same disk (atomic); otherwise copy whole, then remove the original."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.rmdir()  # empty, checked by the caller
    try:
        os.rename(source, target)
        return
    except OSError:
        pass  # another disk (EXDEV) or a platform that refuses: copy instead
    staging = target.with_name(f".{target.name}.moving")
    try:
        shutil.copytree(source, staging)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(source, ignore_errors=True)
