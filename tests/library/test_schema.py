"""Numbered migrations: each one tested, a failing one rolled back with a backup, newer databases refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop_sd.core.errors import LibraryError
from desktop_sd.library.image_records import DB_NAME
from desktop_sd.library.schema import BACKUP_FOLDER, LATEST, MIGRATIONS, Migration, migrate, schema_version
from desktop_sd.library.store import Library
from tests.library.helpers import make_image, make_request


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}


def _insert_v1(conn: sqlite3.Connection, file_name: str, prompt: str) -> None:
    conn.execute(
        "INSERT INTO images (file_name, folder, created, prompt, model) VALUES (?, '', 1.0, ?, 'm')",
        (file_name, prompt),
    )


def test_migration_1_creates_the_images_and_folders_tables(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "db")
    assert migrate(conn, tmp_path / "db", MIGRATIONS[:1]) is None  # nothing to back up in a new database
    assert schema_version(conn) == 1
    assert {"images", "folders", "images_folder", "images_created"} <= _tables(conn)
    _insert_v1(conn, "a.png", "hello")
    assert conn.execute("SELECT prompt, scheduler, mode, missing FROM images").fetchone() == (
        "hello",
        "default",
        "txt2img",
        0,
    )


def test_migration_2_indexes_existing_records_for_full_text_search(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "db")
    migrate(conn, tmp_path / "db", MIGRATIONS[:1])
    _insert_v1(conn, "a.png", "a quiet harbour")
    _insert_v1(conn, "b.png", "a busy market")
    backup = migrate(conn, tmp_path / "db", MIGRATIONS[:2])
    assert schema_version(conn) == 2 and backup is not None and backup.is_file()
    hits = conn.execute("SELECT rowid FROM images_fts WHERE images_fts MATCH 'harbour'").fetchall()
    assert hits == [(1,)]
    conn.execute("UPDATE images SET prompt = 'a harbour at night' WHERE id = 2")  # triggers keep it in step
    assert len(conn.execute("SELECT rowid FROM images_fts WHERE images_fts MATCH 'harbour'").fetchall()) == 2
    conn.execute("DELETE FROM images WHERE id = 1")
    assert conn.execute("SELECT rowid FROM images_fts WHERE images_fts MATCH 'harbour'").fetchall() == [(2,)]


def test_migration_3_filters_use_their_indexes(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "db")
    migrate(conn, tmp_path / "db", MIGRATIONS[:3])
    assert schema_version(conn) == 3
    for sql, index in [
        ("SELECT id FROM images WHERE model = 'm' ORDER BY id DESC LIMIT 10", "images_model"),
        ("SELECT id FROM images WHERE favourite = 1 ORDER BY id DESC LIMIT 10", "images_favourite"),
        ("SELECT id FROM images WHERE width = 512 AND height = 512 ORDER BY id DESC LIMIT 10", "images_size"),
        ("SELECT id FROM images WHERE mode = 'img2img' ORDER BY id DESC LIMIT 10", "images_mode"),
    ]:
        plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert index in plan and "TEMP B-TREE" not in plan, plan


def test_migration_4_makes_sampler_and_mode_searchable(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "db")
    migrate(conn, tmp_path / "db", MIGRATIONS[:3])
    conn.execute(
        "INSERT INTO images (file_name, created, prompt, scheduler, mode) "
        "VALUES ('a.png', 1, 'x', 'euler_a', 'inpaint')"
    )
    assert conn.execute("SELECT count(*) FROM images_fts WHERE images_fts MATCH 'inpaint'").fetchone() == (0,)
    migrate(conn, tmp_path / "db", MIGRATIONS[:4])
    assert schema_version(conn) == 4
    for word in ("inpaint", "euler_a", "x"):
        assert conn.execute("SELECT rowid FROM images_fts WHERE images_fts MATCH ?", (f'"{word}"',)).fetchall() == [
            (1,)
        ]
    conn.execute("UPDATE images SET mode = 'img2img' WHERE id = 1")
    assert conn.execute("SELECT count(*) FROM images_fts WHERE images_fts MATCH 'inpaint'").fetchone() == (0,)


def test_migration_5_keeps_seeds_as_exact_text_and_searchable(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "db")
    migrate(conn, tmp_path / "db", MIGRATIONS[:4])
    for name, seed in (("a.png", 1234), ("b.png", 2**63 - 1), ("c.png", None)):
        conn.execute("INSERT INTO images (file_name, created, prompt, seed) VALUES (?, 1, 'x', ?)", (name, seed))
    conn.execute("INSERT INTO images (file_name, created) VALUES ('gone.png', 1)")
    conn.execute("DELETE FROM images WHERE file_name = 'gone.png'")  # id 4 must never come back
    migrate(conn, tmp_path / "db", MIGRATIONS[:5])
    assert schema_version(conn) == 5
    assert conn.execute("SELECT seed, typeof(seed) FROM images ORDER BY id").fetchall() == [
        ("1234", "text"),
        (str(2**63 - 1), "text"),
        (None, "null"),
    ]
    conn.execute("INSERT INTO images (file_name, created, seed) VALUES ('d.png', 1, ?)", (str(2**64 - 1),))
    assert conn.execute("SELECT id, seed FROM images WHERE file_name = 'd.png'").fetchone() == (5, str(2**64 - 1))
    hits = conn.execute("SELECT rowid FROM images_fts WHERE images_fts MATCH ?", (f'"{2**64 - 1}"',)).fetchall()
    assert hits == [(5,)]  # the triggers and the index came back with the table
    assert conn.execute("SELECT rowid FROM images_fts WHERE images_fts MATCH '\"1234\"'").fetchall() == [(1,)]
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"images_folder", "images_created", "images_model", "images_parent"} <= indexes


def test_migration_6_adds_an_indexed_content_hash(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "db")
    migrate(conn, tmp_path / "db", MIGRATIONS[:5])
    _insert_v1(conn, "a.png", "old")
    migrate(conn, tmp_path / "db", MIGRATIONS[:6])
    assert schema_version(conn) == 6
    assert conn.execute("SELECT content_hash FROM images").fetchall() == [(None,)]  # learnt on the next import
    plan = " ".join(str(r) for r in conn.execute("EXPLAIN QUERY PLAN SELECT id FROM images WHERE content_hash = 'x'"))
    assert "images_content_hash" in plan


def test_open_brings_a_new_library_to_the_latest_version(tmp_path: Path) -> None:
    with Library.open(tmp_path / "lib") as library:
        assert schema_version(library.records.conn) == LATEST == MIGRATIONS[-1].version
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))


def test_a_failing_migration_rolls_back_and_leaves_a_backup(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    with Library.open(folder) as library:
        record = library.add(make_image(), make_request(prompt="precious"), "m")
    broken = Migration(
        LATEST + 1, "broken on purpose", ("CREATE TABLE half_done (x)", "INSERT INTO nowhere VALUES (1)")
    )
    conn = _connect(folder / DB_NAME)
    with pytest.raises(LibraryError, match="A copy from before the update is at") as info:
        migrate(conn, folder / DB_NAME, (*MIGRATIONS, broken))
    assert f"left at version {LATEST}" in str(info.value)
    assert schema_version(conn) == LATEST and "half_done" not in _tables(conn)
    assert conn.execute("SELECT prompt FROM images").fetchall() == [("precious",)]
    conn.close()
    backups = list((folder / BACKUP_FOLDER).iterdir())
    assert len(backups) == 1
    copy = _connect(backups[0])
    assert schema_version(copy) == LATEST
    assert copy.execute("SELECT prompt FROM images").fetchall() == [("precious",)]
    copy.close()
    with Library.open(folder) as library:  # and the library still opens and works
        assert library.get(record.id).prompt == "precious"


def test_a_database_from_a_newer_version_is_refused_not_downgraded(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    Library.open(folder).close()
    conn = _connect(folder / DB_NAME)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(LibraryError, match="newer version of Desktop SD"):
        Library.open(folder)
    conn = _connect(folder / DB_NAME)
    assert schema_version(conn) == 99
    conn.close()
    assert not (folder / BACKUP_FOLDER).exists()


def test_a_file_that_is_not_a_database_gets_a_clear_message(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / DB_NAME).write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(LibraryError, match="damaged"):
        Library.open(folder)
