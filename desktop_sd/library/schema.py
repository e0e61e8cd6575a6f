"""The library database's schema, as numbered migrations.

``PRAGMA user_version`` holds the number of the last migration applied. Each
migration runs in its own transaction, so a failure leaves the database as it
was; before migrating an existing database a copy is made beside it. A
database from a newer version of the app is refused, never downgraded.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop_sd.core.errors import LibraryError

BACKUP_FOLDER = ".backups"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...] = ()
    apply: Callable[[sqlite3.Connection], None] | None = None  # for steps that need Python

    def run(self, conn: sqlite3.Connection) -> None:
        # One execute per statement: executescript() would commit the open transaction.
        for statement in self.statements:
            conn.execute(statement)
        if self.apply is not None:
            self.apply(conn)


_IMAGES = """
CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name TEXT NOT NULL UNIQUE,
    folder TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    negative_prompt TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    scheduler TEXT NOT NULL DEFAULT 'default',
    steps INTEGER,
    cfg_scale REAL,
    seed INTEGER,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL DEFAULT 'txt2img',
    strength REAL,
    parent_id INTEGER,
    favourite INTEGER NOT NULL DEFAULT 0,
    rating INTEGER NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '',
    missing INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL DEFAULT '{}'
)
"""

_FTS_COLUMNS = "prompt, negative_prompt, model, tags, source, seed"
_FTS_NEW = "new.prompt, new.negative_prompt, new.model, new.tags, new.source, new.seed"
_FTS_OLD = "old.prompt, old.negative_prompt, old.model, old.tags, old.source, old.seed"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "images and scanned folders",
        (
            _IMAGES,
            "CREATE INDEX images_folder ON images(folder)",
            "CREATE INDEX images_created ON images(created)",
            # Where a folder stood when last compared with the records, so start-up lists only changed ones.
            "CREATE TABLE folders (name TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL) WITHOUT ROWID",
        ),
    ),
    Migration(
        2,
        "full-text search over prompts, model, tags and seed",
        (
            f"CREATE VIRTUAL TABLE images_fts USING fts5({_FTS_COLUMNS}, content='images', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')",
            f"CREATE TRIGGER images_fts_insert AFTER INSERT ON images BEGIN "
            f"INSERT INTO images_fts(rowid, {_FTS_COLUMNS}) VALUES (new.id, {_FTS_NEW}); END",
            f"CREATE TRIGGER images_fts_delete AFTER DELETE ON images BEGIN "
            f"INSERT INTO images_fts(images_fts, rowid, {_FTS_COLUMNS}) VALUES ('delete', old.id, {_FTS_OLD}); END",
            f"CREATE TRIGGER images_fts_update AFTER UPDATE OF {_FTS_COLUMNS} ON images BEGIN "
            f"INSERT INTO images_fts(images_fts, rowid, {_FTS_COLUMNS}) VALUES ('delete', old.id, {_FTS_OLD}); "
            f"INSERT INTO images_fts(rowid, {_FTS_COLUMNS}) VALUES (new.id, {_FTS_NEW}); END",
            "INSERT INTO images_fts(images_fts) VALUES ('rebuild')",
        ),
    ),
    Migration(
        3,
        "indexes for the gallery filters, newest first",
        (
            "CREATE INDEX images_model ON images(model, id)",
            "CREATE INDEX images_mode ON images(mode, id)",
            "CREATE INDEX images_size ON images(width, height, id)",
            "CREATE INDEX images_favourite ON images(favourite, id)",
            "CREATE INDEX images_parent ON images(parent_id) WHERE parent_id IS NOT NULL",
        ),
    ),
)

# Migration 4: sampler (scheduler id) and mode become searchable too ("euler", "inpaint").
_FTS4_COLUMNS = f"{_FTS_COLUMNS}, scheduler, mode"
_FTS4_NEW = f"{_FTS_NEW}, new.scheduler, new.mode"
_FTS4_OLD = f"{_FTS_OLD}, old.scheduler, old.mode"

MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        4,
        "sampler and mode in the full-text index",
        (
            "DROP TRIGGER images_fts_insert",
            "DROP TRIGGER images_fts_delete",
            "DROP TRIGGER images_fts_update",
            "DROP TABLE images_fts",
            f"CREATE VIRTUAL TABLE images_fts USING fts5({_FTS4_COLUMNS}, content='images', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')",
            f"CREATE TRIGGER images_fts_insert AFTER INSERT ON images BEGIN "
            f"INSERT INTO images_fts(rowid, {_FTS4_COLUMNS}) VALUES (new.id, {_FTS4_NEW}); END",
            f"CREATE TRIGGER images_fts_delete AFTER DELETE ON images BEGIN "
            f"INSERT INTO images_fts(images_fts, rowid, {_FTS4_COLUMNS}) VALUES ('delete', old.id, {_FTS4_OLD}); END",
            f"CREATE TRIGGER images_fts_update AFTER UPDATE OF {_FTS4_COLUMNS} ON images BEGIN "
            f"INSERT INTO images_fts(images_fts, rowid, {_FTS4_COLUMNS}) VALUES ('delete', old.id, {_FTS4_OLD}); "
            f"INSERT INTO images_fts(rowid, {_FTS4_COLUMNS}) VALUES (new.id, {_FTS4_NEW}); END",
            "INSERT INTO images_fts(images_fts) VALUES ('rebuild')",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def backup_database(conn: sqlite3.Connection, db_path: Path, version: int) -> Path:
    """A consistent copy of the database (SQLite's online backup) in ``.backups`` beside it."""
    folder = db_path.parent / BACKUP_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{db_path.stem}-v{version}-{time.strftime('%Y%m%d-%H%M%S')}{db_path.suffix}"
    counter = 1
    while target.exists():
        target = target.with_name(f"{db_path.stem}-v{version}-{time.strftime('%Y%m%d-%H%M%S')}-{counter}.db")
        counter += 1
    copy = sqlite3.connect(target)
    try:
        conn.backup(copy)
    finally:
        copy.close()
    return target


def migrate(conn: sqlite3.Connection, db_path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> Path | None:
    """Bring the database up to the last migration; returns the backup made first, if any.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so the
    transactions here are the only ones.
    """
    version = schema_version(conn)
    latest = migrations[-1].version
    if version > latest:
        raise LibraryError(
            f"The library at {db_path.parent} was made by a newer version of Desktop SD "
            f"(database version {version}; this version knows up to {latest}). "
            "Update Desktop SD, or choose another library folder. The library was not changed."
        )
    pending = [m for m in migrations if m.version > version]
    if not pending:
        return None
    backup = backup_database(conn, db_path, version) if version > 0 else None
    for migration in pending:
        try:
            conn.execute("BEGIN IMMEDIATE")
            if schema_version(conn) >= migration.version:  # another process opening it migrated it meanwhile
                conn.execute("COMMIT")
                continue
            migration.run(conn)
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            where = f" A copy from before the update is at {backup}." if backup else ""
            raise LibraryError(
                f"Updating the library database to version {migration.version} ({migration.description}) "
                f"failed: {exc}. The database was left at version {schema_version(conn)}.{where}"
            ) from exc
    return backup
