"""The history store: every image the app makes, saved the moment it exists, searchable.

Files live in date folders under the library folder; their records in
``library.db`` (SQLite, WAL, ``synchronous=FULL``). A save writes the PNG
completely (temp file, fsync, rename) and only THEN commits its record, so a
crash at any point leaves either nothing, or a whole file that the next start
re-indexes from its metadata; never a record without its file, never half a
file. No Qt here: the gallery model wraps this for the GUI.

One ``Library`` may be used from several threads. Writes are serialised on
one connection; reads use a second one, so the GUI reading the gallery never
waits for a save's fsync on another thread (WAL lets readers run beside a
writer). Image files are written outside any lock. Listeners are called on
the thread that made the change.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

import desktop_sd
from desktop_sd.core import paths
from desktop_sd.core.errors import LibraryError
from desktop_sd.core.request import GenerationRequest
from desktop_sd.library import thumbnails
from desktop_sd.library.files import describe_os_error, fault_point, unique_name, write_atomic
from desktop_sd.library.library_files import LibraryFilesMixin
from desktop_sd.library.metadata import png_info
from desktop_sd.library.query import count_sql, page_sql
from desktop_sd.library.reconcile import reconcile
from desktop_sd.library.records import Brief, Filters, ImageRecord, LibraryEvent, LibraryEventKind, ReconcileReport
from desktop_sd.library.rows import COLUMNS, insert_row, join_tags, record_from_row, row_for_request
from desktop_sd.library.schema import migrate

DB_NAME = "library.db"
DEFAULT_BUSY_TIMEOUT_S = 5.0
PNG_COMPRESS_LEVEL = 4  # a fast save; barely larger than level 6
_CHUNK = 500  # ids per "IN (...)" statement, well under SQLite's variable limit

Listener = Callable[[LibraryEvent], None]
Trash = Callable[[Path], None]


def default_trash(path: Path) -> None:
    """Move a file to the system trash; remove it where there is no trash."""
    try:
        from send2trash import send2trash
    except ImportError:
        os.remove(path)
        return
    try:
        send2trash(path)
    except OSError:
        if path.exists():
            os.remove(path)


def _sqlite_error(exc: sqlite3.Error, db_path: Path, busy_timeout: float) -> LibraryError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return LibraryError(
            f"The library database {db_path} is in use by another program (another Desktop SD window?) "
            f"and stayed locked for {busy_timeout:g} s. Close the other one and try again."
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return LibraryError(
            f"The library database {db_path} is damaged ({exc}). Move it aside and restart to rebuild the "
            "history from the images' metadata, or choose another library folder."
        )
    if "disk is full" in text or "disk i/o" in text or "readonly" in text or "read-only" in text:
        return LibraryError(
            f"The library database {db_path} could not be written ({exc}). Free some disk space or choose "
            "another library folder."
        )
    return LibraryError(f"The library database {db_path} failed: {exc}.")


class Library(LibraryFilesMixin):
    """The image history in ``folder``. Use ``Library.open``; ``close`` when done."""

    def __init__(
        self, folder: Path, conn: sqlite3.Connection, reader: sqlite3.Connection, busy_timeout: float, trash: Trash
    ) -> None:
        self.folder = folder
        self.db_path = folder / DB_NAME
        self.busy_timeout = busy_timeout
        self.last_reconcile = ReconcileReport()
        self._conn: sqlite3.Connection | None = conn
        self._reader: sqlite3.Connection | None = reader
        self._trash = trash
        self._lock = threading.RLock()  # the writing connection
        self._read_lock = threading.Lock()  # the reading connection
        self._listeners: list[Listener] = []

    # ---- opening and closing ----------------------------------------------------------

    @classmethod
    def open(
        cls,
        folder: Path | str | None = None,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
        trash: Trash | None = None,
        reconcile: bool = True,
    ) -> Library:
        """Open (creating or migrating) the library in ``folder`` (default: the user's library folder).

        Reconciles the folder with the records unless ``reconcile`` is false;
        the result is in ``last_reconcile``.
        """
        root = Path(folder) if folder is not None else paths.default_library_dir()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise describe_os_error(exc, "create the library folder", root) from exc
        db_path = root / DB_NAME
        connections: list[sqlite3.Connection] = []
        try:
            conn = sqlite3.connect(db_path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
            connections.append(conn)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            migrate(conn, db_path)
            reader = sqlite3.connect(db_path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
            connections.append(reader)
            reader.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            for connection in connections:
                connection.close()
            raise _sqlite_error(exc, db_path, busy_timeout) from exc
        except BaseException:
            for connection in connections:
                connection.close()
            raise
        library = cls(root, conn, reader, busy_timeout, trash or default_trash)
        if reconcile:
            library.reconcile()
        return library

    @staticmethod
    def is_library(folder: Path) -> bool:
        """Whether ``folder`` already holds a library (to re-point to it rather than move onto it)."""
        return (Path(folder) / DB_NAME).is_file()

    def close(self) -> None:
        """Checkpoint the write-ahead log and close. Safe to call twice."""
        with self._lock, self._read_lock:
            if self._conn is None:
                return
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
            self._conn = None

    @property
    def closed(self) -> bool:
        return self._conn is None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing ---------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LibraryError("The library is closed.")
        return self._conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (taken at once, so a locked database fails here, before any change)."""
        with self._lock:
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _sqlite_error(exc, self.db_path, self.busy_timeout) from exc
                raise

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            if self._reader is None:
                raise LibraryError("The library is closed.")
            try:
                return self._reader.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.db_path, self.busy_timeout) from exc

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _notify(self, kind: LibraryEventKind, ids: Iterable[int] = ()) -> None:
        event = LibraryEvent(kind, tuple(ids))
        for listener in list(self._listeners):
            listener(event)

    # ---- saving -----------------------------------------------------------------------

    def add(
        self, image: Image.Image, request: GenerationRequest, model_id: str, parent_id: int | None = None
    ) -> ImageRecord:
        """Save a finished image with its metadata, then record it; returns the record.

        Raises ``LibraryError`` (full or read-only disk, locked database) with
        nothing half-written and no record without its file; the caller still
        holds ``image`` and can retry or choose another folder.
        """
        created = time.time()
        local = time.localtime(created)
        day = time.strftime("%Y-%m-%d", local)
        extra = {"created": created, "model_id": model_id, "parent_id": parent_id}
        buffer = io.BytesIO()
        info = png_info(request, model_id, desktop_sd.__version__, extra)
        image.save(buffer, "PNG", pnginfo=info, compress_level=PNG_COMPRESS_LEVEL)
        folder = self.folder / day
        seed = request.seed if request.seed is not None else "x"
        if self.closed:
            raise LibraryError("The library is closed.")
        try:  # no lock held: the fsync must not hold up readers or other savers
            folder.mkdir(parents=True, exist_ok=True)
            name = unique_name(folder, f"{time.strftime('%H%M%S', local)}-{seed}", ".png")
            path = folder / name
            write_atomic(path, buffer.getvalue())
        except OSError as exc:
            raise describe_os_error(exc, "save the image", folder) from exc
        row = row_for_request(request, f"{day}/{name}", created, model_id, parent_id, image.size)
        try:
            with self._transaction():
                image_id = insert_row(self.conn, row)
                fault_point("record_inserted")
            fault_point("committed")
        except BaseException:
            # The record did not commit: take the file back so the two stay in step.
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        record = self.get(image_id)
        assert record is not None
        self._notify(LibraryEventKind.ADDED, (image_id,))
        return record

    def bulk_insert(self, rows: Iterable[dict[str, object]]) -> int:
        """Record many files already in the library folder, in one transaction; returns how many.

        For importers and benchmarks that place files themselves. Each row
        holds the ``images`` columns (see ``rows.row_for_parsed``); listeners
        get one "reset".
        """
        count = 0
        with self._transaction():
            for row in rows:
                insert_row(self.conn, row)
                count += 1
        self._notify(LibraryEventKind.RESET)
        return count

    # ---- reading ----------------------------------------------------------------------

    def get(self, image_id: int) -> ImageRecord | None:
        rows = self._read(f"SELECT {COLUMNS} FROM images WHERE id = ?", (int(image_id),))
        return record_from_row(rows[0], self.folder) if rows else None

    def get_many(self, ids: Sequence[int]) -> list[ImageRecord]:
        """Records for ``ids`` in the order given (unknown ids left out)."""
        found: dict[int, ImageRecord] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = [int(i) for i in ids[start : start + _CHUNK]]
            marks = ",".join("?" * len(chunk))
            for row in self._read(f"SELECT {COLUMNS} FROM images WHERE id IN ({marks})", chunk):
                found[row[0]] = record_from_row(row, self.folder)
        return [found[i] for i in ids if i in found]

    def brief(self, ids: Sequence[int]) -> dict[int, Brief]:
        """File name, missing and favourite flags: what painting a tile needs, much cheaper than records."""
        found: dict[int, Brief] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = [int(i) for i in ids[start : start + _CHUNK]]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, file_name, missing, favourite FROM images WHERE id IN ({marks})"
            for image_id, file_name, missing, favourite in self._read(sql, chunk):
                found[image_id] = Brief(file_name, bool(missing), bool(favourite))
        return found

    def search(
        self, text: str = "", filters: Filters | None = None, offset: int = 0, limit: int = 100
    ) -> list[ImageRecord]:
        """Records whose prompt, negative prompt, model, tags or seed match every word of ``text``, newest first."""
        sql, params = page_sql(text, filters, None, limit, offset, columns=COLUMNS)
        return [record_from_row(row, self.folder) for row in self._read(sql, params)]

    def query(self, filters: Filters | None = None, offset: int = 0, limit: int = 100) -> list[ImageRecord]:
        """Records matching ``filters`` alone, newest first."""
        return self.search("", filters, offset, limit)

    def page_ids(
        self,
        text: str = "",
        filters: Filters | None = None,
        before_id: int | None = None,
        limit: int = 256,
        offset: int = 0,
    ) -> list[int]:
        """Ids of a page of matches, newest first: older than ``before_id`` (by key: every such page is as
        fast as the first), or from ``offset`` (to jump into the middle)."""
        sql, params = page_sql(text, filters, before_id, limit, offset)
        return [row[0] for row in self._read(sql, params)]

    def matching_ids(self, ids: Sequence[int], text: str = "", filters: Filters | None = None) -> set[int]:
        """Those of ``ids`` that match a search (to tell whether a new or changed image belongs in a view)."""
        found: set[int] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = [int(i) for i in ids[start : start + _CHUNK]]
            sql, params = page_sql(text, filters, None, len(chunk), only_ids=chunk)
            found.update(row[0] for row in self._read(sql, params))
        return found

    def count(self, text: str = "", filters: Filters | None = None, newer_than: int | None = None) -> int:
        """How many images match; with ``newer_than``, how many of them are newer than that image."""
        sql, params = count_sql(text, filters, newer_than)
        return int(self._read(sql, params)[0][0])

    def models(self) -> list[str]:
        """Every model name in the library (for the gallery's filter)."""
        return [row[0] for row in self._read("SELECT DISTINCT model FROM images WHERE model != '' ORDER BY model")]

    def sizes(self) -> list[tuple[int, int]]:
        rows = self._read("SELECT DISTINCT width, height FROM images WHERE width > 0 ORDER BY width, height")
        return [(int(w), int(h)) for w, h in rows]

    def thumbnail_path(self, record: ImageRecord | str) -> Path:
        """Where the cached thumbnail of a record (or of a ``file_name``) lives."""
        file_name = record if isinstance(record, str) else record.file_name
        return thumbnails.thumbnail_path(self.folder, file_name)

    def path_of(self, file_name: str) -> Path:
        return self.folder.joinpath(*file_name.split("/"))

    # ---- changing ---------------------------------------------------------------------

    def _update(self, sql: str, value: object, ids: Iterable[int]) -> tuple[int, ...]:
        id_list = tuple(dict.fromkeys(int(i) for i in ids))
        with self._transaction():
            for start in range(0, len(id_list), _CHUNK):
                chunk = id_list[start : start + _CHUNK]
                self.conn.execute(f"{sql} WHERE id IN ({','.join('?' * len(chunk))})", (value, *chunk))
        self._notify(LibraryEventKind.CHANGED, id_list)
        return id_list

    def set_favourite(self, ids: int | Iterable[int], favourite: bool = True) -> None:
        self._update("UPDATE images SET favourite = ?", int(bool(favourite)), _ids(ids))

    def set_rating(self, ids: int | Iterable[int], rating: int) -> None:
        """Rate 1 to 5 stars; 0 clears the rating."""
        if not isinstance(rating, int) or not 0 <= rating <= 5:
            raise LibraryError(f"A rating is 0 to 5 stars, not {rating!r}.")
        self._update("UPDATE images SET rating = ?", rating, _ids(ids))

    def set_tags(self, ids: int | Iterable[int], tags: Iterable[str]) -> None:
        """Replace the tags (trimmed, commas removed, duplicates dropped)."""
        self._update("UPDATE images SET tags = ?", join_tags(tags), _ids(ids))

    def mark_missing(self, image_id: int, missing: bool = True) -> None:
        """Record that a file has gone (or come back), e.g. when its thumbnail could not be read."""
        self._update("UPDATE images SET missing = ?", int(missing), [image_id])

    def reconcile(self, full: bool = False) -> ReconcileReport:
        """Bring the records in line with the folder (see ``library.reconcile``)."""
        with self._lock:
            report = reconcile(self.conn, self.folder, self._transaction, full=full)
        self.last_reconcile = report
        if report.indexed or report.missing or report.found:
            self._notify(LibraryEventKind.RESET)
        return report


def _ids(ids: int | Iterable[int]) -> list[int]:
    return [ids] if isinstance(ids, int) else [int(i) for i in ids]
