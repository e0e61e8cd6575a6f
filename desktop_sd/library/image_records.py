"""The records of the library's images in ``library.db``: SQLite, WAL, ``synchronous=FULL``.

Writes are serialised on one connection; reads use a second one, so the GUI
reading the gallery never waits for a save's fsync on another thread (WAL
lets readers run beside a writer). No files are written here: the image files
are ``image_files``'s, and ``store.Library`` keeps the two in step.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from desktop_sd.core.aside import move_aside
from desktop_sd.core.errors import LibraryDamagedError, LibraryError
from desktop_sd.library.query import count_sql, page_sql
from desktop_sd.library.reconcile import SweepTemp, reconcile
from desktop_sd.library.records import MAX_RATING, Brief, Filters, ImageRecord, ReconcileReport
from desktop_sd.library.rows import COLUMNS, insert_row, join_tags, record_from_row
from desktop_sd.library.schema import migrate

DB_NAME = "library.db"
DEFAULT_BUSY_TIMEOUT_S = 5.0
_CHUNK = 500  # ids per "IN (...)" statement, well under SQLite's variable limit


# What SQLite says when the file itself is bad, rather than busy or unwritable.
_DAMAGE_WORDS = (
    "not a database",
    "malformed",
    "corrupt",
    "vtable constructor failed",
    "no such table",
    "no such column",
)
REBUILD_COMMAND = "desktop-sd library --library {folder} rebuild"


def _quoted_for_shell(text: str) -> str:
    """``text`` as the user's shell takes one argument (cmd.exe knows only double quotes)."""
    if os.name == "nt":
        return f'"{text}"' if any(c in text for c in ' &()^;,=') else text
    return shlex.quote(text)


def damaged_message(db_path: Path, detail: object) -> str:
    """The one message for a damaged history database, with the way to rebuild it."""
    command = REBUILD_COMMAND.format(folder=_quoted_for_shell(str(db_path.parent)))
    return (
        f"The history database {db_path} is damaged ({detail}). The images are safe and carry their parameters: "
        f"rebuild the history from them (Rebuild history in the window, or the command `{command}`). "
        "The damaged file is kept beside it; favourites, ratings and tags are not in the images and start empty."
    )


def _sqlite_error(exc: sqlite3.Error, db_path: Path, busy_timeout: float) -> LibraryError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return LibraryError(
            f"The library database {db_path} is in use by another program (another Desktop SD window?) "
            f"and stayed locked for {busy_timeout:g} s. Close the other one and try again."
        )
    if "disk is full" in text or "disk i/o" in text or "readonly" in text or "read-only" in text:
        return LibraryError(
            f"The library database {db_path} could not be written ({exc}). Free some disk space or choose "
            "another library folder."
        )
    if any(word in text for word in _DAMAGE_WORDS) or type(exc) is sqlite3.DatabaseError:
        return LibraryDamagedError(damaged_message(db_path, exc), db_path.parent)
    return LibraryError(f"The library database {db_path} failed: {exc}.")


def move_aside_damaged(folder: Path) -> Path | None:
    """Rename ``folder``'s database (and its WAL files) to ``library.damaged-<time>.db``, never over an
    earlier one; returns the new name, or None when there was no database. Raises ``OSError``."""
    db_path = folder / DB_NAME
    if not db_path.exists():
        return None
    aside = move_aside(db_path, "damaged", db_path.suffix)
    for suffix in ("-wal", "-shm"):
        extra = folder / f"{DB_NAME}{suffix}"
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    return aside


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield [int(i) for i in ids[start : start + _CHUNK]]


class ImageRecords:
    """The ``images`` table of the library in ``folder`` (record paths are resolved against it).

    Use ``ImageRecords.open``; ``close`` when done. Safe to use from several threads.
    """

    def __init__(self, folder: Path, conn: sqlite3.Connection, reader: sqlite3.Connection, busy_timeout: float) -> None:
        self.folder = folder
        self.db_path = folder / DB_NAME
        self.busy_timeout = busy_timeout
        # Held by every write. Hold it across a file operation and its insert to keep a
        # reconcile (which holds it too) from indexing the file in between.
        self.lock = threading.RLock()
        self._conn: sqlite3.Connection | None = conn
        self._reader: sqlite3.Connection | None = reader
        self._read_lock = threading.Lock()

    @classmethod
    def open(cls, folder: Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S) -> ImageRecords:
        """Open (creating or migrating) ``folder``'s database. Raises ``LibraryError``."""
        db_path = folder / DB_NAME
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
        return cls(folder, conn, reader, busy_timeout)

    def close(self) -> None:
        """Checkpoint the write-ahead log and close. Safe to call twice."""
        with self.lock, self._read_lock:
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

    @property
    def conn(self) -> sqlite3.Connection:
        """The writing connection (for migrations, checks and tests; changes go through ``transaction``)."""
        if self._conn is None:
            raise LibraryError("The library is closed.")
        return self._conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (taken at once, so a locked database fails here, before any change)."""
        with self.lock:
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

    # ---- writing ----------------------------------------------------------------------

    def insert(self, row: dict[str, object], on_step: Callable[[str], None] | None = None) -> int:
        """Record one file in its own transaction; returns its id.

        If a reconcile (in any thread or process) indexed the file between its
        rename and this call, that record takes this row's values instead: the
        file is recorded once, and never taken back for a clash.
        ``on_step`` hears "record_inserted" (before the commit) and "committed".
        """
        with self.transaction():
            found = self.conn.execute("SELECT id FROM images WHERE file_name = ?", (row["file_name"],)).fetchone()
            if found is None:
                image_id = insert_row(self.conn, row)
            else:
                image_id = int(found[0])
                names = [name for name in row if name != "file_name"]
                assignments = ", ".join(f"{name} = ?" for name in names)
                self.conn.execute(f"UPDATE images SET {assignments} WHERE id = ?", [*(row[n] for n in names), image_id])
            if on_step is not None:
                on_step("record_inserted")
        if on_step is not None:
            on_step("committed")
        return image_id

    def discard_unrecorded(self, file_name: str, remove: Callable[[str], None]) -> None:
        """Call ``remove(file_name)`` unless a record has the file. Never raises.

        Decided inside a write transaction, so no other process can record the
        file meanwhile. Where the database stays locked, a read decides: what
        holds a write lock that long (a migration, a bulk insert, another
        program) does not index new files. A database that cannot be read at
        all keeps the file: the next reconcile indexes it.
        """
        query = "SELECT 1 FROM images WHERE file_name = ?"
        try:
            with self.transaction():
                if self.conn.execute(query, (file_name,)).fetchone() is None:
                    remove(file_name)
            return
        except LibraryError:
            pass
        with contextlib.suppress(LibraryError):
            if not self._read(query, (file_name,)):
                remove(file_name)

    def insert_many(self, rows: Iterable[dict[str, object]]) -> int:
        """Record many files in one transaction; returns how many."""
        count = 0
        with self.transaction():
            for row in rows:
                insert_row(self.conn, row)
                count += 1
        return count

    def file_names(self) -> list[tuple[int, str]]:
        """``(id, file name)`` of every record, oldest first."""
        return [(int(i), str(f)) for i, f in self._read("SELECT id, file_name FROM images ORDER BY id")]

    def integrity_problems(self) -> list[str]:
        """What SQLite's own checks find wrong with the database and its search index (empty: none)."""
        problems = [str(row[0]) for row in self._read("PRAGMA integrity_check") if row[0] != "ok"]
        try:
            with self.transaction():
                self.conn.execute("INSERT INTO images_fts(images_fts, rank) VALUES ('integrity-check', 1)")
        except (sqlite3.Error, LibraryError) as exc:
            problems.append(f"the search index does not match the records ({exc})")
        return problems

    def find_by_hash(self, content_hash: str) -> int | None:
        """The id of an image whose file has this SHA-256, if any."""
        rows = self._read("SELECT id FROM images WHERE content_hash = ? LIMIT 1", [content_hash])
        return int(rows[0][0]) if rows else None

    def unhashed(self) -> list[tuple[int, str]]:
        """``(id, file name)`` of the images whose content hash is not known yet."""
        return [(int(i), str(f)) for i, f in self._read("SELECT id, file_name FROM images WHERE content_hash IS NULL")]

    def set_hashes(self, hashes: Iterable[tuple[int, str]]) -> None:
        """Record the content hash of images (``(id, sha256)`` pairs)."""
        with self.transaction():
            self.conn.executemany("UPDATE images SET content_hash = ? WHERE id = ?", [(h, i) for i, h in hashes])

    def delete(self, ids: Sequence[int]) -> None:
        """Drop the records (their children keep their place, without a parent)."""
        with self.transaction():
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                self.conn.execute(f"DELETE FROM images WHERE id IN ({marks})", chunk)
                self.conn.execute(f"UPDATE images SET parent_id = NULL WHERE parent_id IN ({marks})", chunk)

    def _update(self, sql: str, value: object, ids: Iterable[int]) -> tuple[int, ...]:
        id_list = tuple(dict.fromkeys(int(i) for i in ids))
        with self.transaction():
            for chunk in _chunks(id_list):
                self.conn.execute(f"{sql} WHERE id IN ({','.join('?' * len(chunk))})", (value, *chunk))
        return id_list

    def set_favourite(self, ids: Iterable[int], favourite: bool) -> tuple[int, ...]:
        """Returns the ids changed (each once), as do the other setters."""
        return self._update("UPDATE images SET favourite = ?", int(bool(favourite)), ids)

    def set_rating(self, ids: Iterable[int], rating: int) -> tuple[int, ...]:
        """Rate 1 to 5 stars; 0 clears the rating."""
        if not isinstance(rating, int) or not 0 <= rating <= MAX_RATING:
            raise LibraryError(f"A rating is 0 to 5 stars, not {rating!r}.")
        return self._update("UPDATE images SET rating = ?", rating, ids)

    def set_tags(self, ids: Iterable[int], tags: Iterable[str]) -> tuple[int, ...]:
        """Replace the tags (trimmed, commas removed, duplicates dropped)."""
        return self._update("UPDATE images SET tags = ?", join_tags(tags), ids)

    def mark_missing(self, image_id: int, missing: bool) -> tuple[int, ...]:
        return self._update("UPDATE images SET missing = ?", int(missing), [image_id])

    def reconcile(self, sweep_temp: SweepTemp, full: bool = False) -> ReconcileReport:
        """Bring the records in line with the folder (see ``library.reconcile``). Raises ``LibraryError``."""
        with self.lock:
            try:
                return reconcile(self.conn, self.folder, self.transaction, sweep_temp, full=full)
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.db_path, self.busy_timeout) from exc

    # ---- reading ----------------------------------------------------------------------

    def get(self, image_id: int) -> ImageRecord | None:
        rows = self._read(f"SELECT {COLUMNS} FROM images WHERE id = ?", (int(image_id),))
        return record_from_row(rows[0], self.folder) if rows else None

    def get_many(self, ids: Sequence[int]) -> list[ImageRecord]:
        """Records for ``ids`` in the order given (unknown ids left out)."""
        found: dict[int, ImageRecord] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for row in self._read(f"SELECT {COLUMNS} FROM images WHERE id IN ({marks})", chunk):
                found[row[0]] = record_from_row(row, self.folder)
        return [found[i] for i in ids if i in found]

    def brief(self, ids: Sequence[int]) -> dict[int, Brief]:
        """File name, missing and favourite flags: what painting a tile needs, much cheaper than records."""
        found: dict[int, Brief] = {}
        for chunk in _chunks(ids):
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
        for chunk in _chunks(ids):
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
