"""The library database's schema, as numbered migrations.

``PRAGMA user_version`` holds the number of the last migration applied. Each
migration runs in its own transaction, so a failure leaves the database as it
was; before migrating an existing database a copy is made beside it. A
database from a newer version of the app is refused, never downgraded.
"""

from __future__ import annotations

import re
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



def _seed_as_text(conn: sqlite3.Connection) -> None:
    """Rebuild ``images`` with ``seed TEXT``: seeds run to 2**64 - 1, and an INTEGER column (signed
    64-bit) turns anything larger than 2**63 - 1 into an inexact REAL. Indexes and triggers are
    made again from their own SQL, and the AUTOINCREMENT counter is kept, so no id is ever reused."""
    (table_sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'images'").fetchone()
    new_sql, count = re.subn(r"\bseed\s+INTEGER\b", "seed TEXT", table_sql, count=1)
    if count != 1:
        raise LibraryError("The library database has no integer seed column to convert.")
    others = conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'images' AND type IN ('index', 'trigger') AND sql IS NOT NULL"
    ).fetchall()
    sequence = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'images'").fetchone()
    columns = [row[1] for row in conn.execute("PRAGMA table_info(images)")]
    copied = ", ".join("CAST(seed AS TEXT)" if c == "seed" else c for c in columns)
    conn.execute(re.sub(r"^CREATE TABLE\s+\"?images\"?", "CREATE TABLE images_new", new_sql))
    conn.execute(f"INSERT INTO images_new ({', '.join(columns)}) SELECT {copied} FROM images")
    conn.execute("DROP TABLE images")
    conn.execute("ALTER TABLE images_new RENAME TO images")
    for (sql,) in others:
        conn.execute(sql)
    if sequence is not None:
        conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'images'", (sequence[0],))
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'images_fts'").fetchone():
        conn.execute("INSERT INTO images_fts(images_fts) VALUES ('rebuild')")


MIGRATIONS = (
    *MIGRATIONS,
    Migration(5, "seeds as exact text, up to 2**64 - 1", apply=_seed_as_text),
    Migration(
        6,
        "each file's content hash, so an image imported twice is recognised",
        (
            # NULL until known: images we save get it at once, files found in the folder on their first import.
            "ALTER TABLE images ADD COLUMN content_hash TEXT",
            "CREATE INDEX images_content_hash ON images(content_hash) WHERE content_hash IS NOT NULL",
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
