"""The history service with a damaged database: the window is told, and the history can be rebuilt."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop_sd.app.history import History
from desktop_sd.library.image_records import DB_NAME
from desktop_sd.library.store import Library
from tests.library.helpers import make_image, make_request
from tests.library.test_damaged_database import _damaged_library


def test_a_database_damaged_past_its_first_pages_is_reported_and_rebuilt(qtbot: QtBot, tmp_path: Path) -> None:
    folder = tmp_path / "library"
    prompts = _damaged_library(folder, count=5)
    history, error = History.open(folder)
    assert error == ""  # the first pages are whole: it opens
    try:
        with qtbot.waitSignal(history.damaged, timeout=10_000) as damaged:
            history.reconcile_in_background()
        assert "is damaged" in damaged.args[0] and "rebuild" in damaged.args[0]
        with qtbot.waitSignal(history.rebuild_finished, timeout=20_000) as finished:
            history.rebuild_in_background()
        assert finished.args[0] == "The history was rebuilt from 5 images."
        assert history.library is not None and history.damaged_folder is None
        assert sorted(r.prompt for r in history.library.search(limit=10)) == sorted(prompts)
        assert history.saver.store is history.library
    finally:
        history.close()


def test_a_database_that_does_not_open_can_be_rebuilt(qtbot: QtBot, tmp_path: Path) -> None:
    folder = tmp_path / "library"
    with Library.open(folder) as library:
        library.add(make_image(), make_request(), "m")
    (folder / DB_NAME).write_bytes(b"not a database" * 500)
    history, error = History.open(folder)
    try:
        assert "is damaged" in error and history.library is None and history.damaged_folder == folder
        with qtbot.waitSignal(history.rebuild_finished, timeout=20_000) as finished:
            history.rebuild_in_background()
        assert finished.args[0] == "The history was rebuilt from 1 image."
        assert history.gallery is not None and history.library is not None
        assert history.library.count() == 1
    finally:
        history.close()
