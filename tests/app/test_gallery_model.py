"""The gallery model: lazy pages, thumbnails off the GUI thread, bounded caches, following the library."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt, QThread
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from desktop_sd.app import gallery_thumbs
from desktop_sd.app.gallery_model import GalleryModel
from desktop_sd.core.request import Mode
from desktop_sd.library.records import Filters
from desktop_sd.library.store import Library
from desktop_sd.library.thumbnails import thumbnail_path
from tests.library.helpers import FolderTrash, make_image, make_request

COLORS = [(250, 20, 20), (20, 250, 20), (20, 20, 250)]


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library.open(tmp_path / "library", trash=FolderTrash(tmp_path / "trash"))
    yield lib
    lib.close()


@pytest.fixture
def filled(library: Library) -> list[int]:
    """Thirty images, oldest first; every tenth is a cat, the rest are foxes."""
    ids = []
    for n in range(30):
        prompt = f"a cat number {n}" if n % 10 == 0 else f"a fox number {n}"
        ids.append(library.add(make_image(COLORS[n % 3]), make_request(prompt=prompt, seed=n), f"model-{n % 2}").id)
    return ids


@pytest.fixture
def model(library: Library, qtbot: QtBot) -> Iterator[GalleryModel]:
    gallery = GalleryModel(library, page_size=8, cache_items=5)
    yield gallery
    gallery.close()


def _read_all(model: GalleryModel) -> None:
    for row in range(model.rowCount()):
        model.image_id(row)


def _ids(model: GalleryModel) -> list[int]:
    return [model.image_id(row) for row in range(model.rowCount())]


def _thumbnail(model: GalleryModel, qtbot: QtBot, row: int) -> QImage:
    image_id = model.image_id(row)
    model.data(model.index(row, 0), Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: model.has_thumbnail(image_id), timeout=10_000)
    return model.data(model.index(row, 0), Qt.ItemDataRole.DecorationRole)


def test_every_match_is_a_row_at_once_and_ids_are_read_by_page(
    library: Library, filled: list[int], qtbot: QtBot
) -> None:
    model = GalleryModel(library, page_size=8)
    try:
        assert model.rowCount() == 30 and model.total() == 30
        assert model.ids_read == 8  # the first page only
        assert model.image_id(20) == filled[9]  # a jump: its page is read by offset
        assert model.ids_read == 16
        assert model.image_id(9) == filled[20]  # just below known rows: read on by key
        assert model.ids_read == 24
        _read_all(model)
        assert _ids(model) == filled[::-1] and model.ids_read == 30
        record = model.data(model.index(0, 0), GalleryModel.RecordRole)
        assert record.id == filled[-1] and record.seed == 29
        assert "fox number 29" in model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
        assert model.data(model.index(0, 0), GalleryModel.PathRole) == str(record.path)
        assert model.data(model.index(99, 0), GalleryModel.RecordRole) is None
    finally:
        model.close()


def test_find_row_of_an_image_not_read_yet(library: Library, filled: list[int], qtbot: QtBot) -> None:
    model = GalleryModel(library, page_size=4)
    try:
        assert model.find_row(filled[2]) == 27 and model.image_id(27) == filled[2]
        model.set_filter("cat")
        assert model.find_row(filled[0]) == 2 and model.find_row(filled[1]) is None
    finally:
        model.close()


def test_thumbnails_are_made_off_the_gui_thread_and_cached_on_disk(
    model: GalleryModel, filled: list[int], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[object] = []
    real = gallery_thumbs.make_thumbnail

    def spy(source: Path, cache: Path, size: int) -> QImage:
        threads.append(QThread.currentThread())
        return real(source, cache, size)

    monkeypatch.setattr(gallery_thumbs, "make_thumbnail", spy)
    placeholder = model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole)
    assert isinstance(placeholder, QImage) and placeholder.pixelColor(5, 5).red() == 58  # grey "loading" tile
    with qtbot.waitSignal(model.thumbnails_ready, timeout=10_000):
        pass
    thumb = _thumbnail(model, qtbot, 0)
    assert thumb.pixelColor(10, 10).blue() > 200  # image 29 is blue
    assert threads and all(t is not QThread.currentThread() for t in threads)
    record = model.record(0)
    cached = thumbnail_path(model.library.folder, record.file_name)
    assert cached.is_file()
    assert Image.open(cached).size == (64, 64)


def test_thumbnail_cache_in_memory_is_bounded(model: GalleryModel, filled: list[int], qtbot: QtBot) -> None:
    _read_all(model)
    for row in range(12):
        _thumbnail(model, qtbot, row)
    assert model.thumbnails_in_memory == 5
    assert _thumbnail(model, qtbot, 0).pixelColor(10, 10).blue() > 200  # evicted, then loaded again


def test_missing_and_damaged_files_get_placeholders(
    model: GalleryModel, library: Library, filled: list[int], qtbot: QtBot
) -> None:
    gone, damaged = model.record(0), model.record(1)
    gone.path.unlink()
    damaged.path.write_bytes(b"\x89PNG\r\n\x1a\n but not really")
    missing_tile = _thumbnail(model, qtbot, 0)
    broken_tile = _thumbnail(model, qtbot, 1)
    assert missing_tile.pixelColor(5, 5).red() == 58 and missing_tile != broken_tile
    qtbot.waitUntil(lambda: library.get(gone.id).missing, timeout=5_000)
    assert model.data(model.index(0, 0), GalleryModel.MissingRole)
    assert not library.get(damaged.id).missing


def test_search_and_filters(model: GalleryModel, filled: list[int], qtbot: QtBot) -> None:
    with qtbot.waitSignal(model.filter_changed):
        model.set_filter("cat")
    assert _ids(model) == [filled[20], filled[10], filled[0]] and model.total() == 3
    model.set_filter("", Filters(model="model-1"))
    _read_all(model)
    assert len(_ids(model)) == 15 and all(model.record(r).model == "model-1" for r in range(15))
    model.set_filter("cat", Filters(model="model-0", mode=Mode.TXT2IMG))
    assert model.total() == 3
    model.set_filter("no such words")
    assert model.rowCount() == 0 and model.total() == 0
    model.set_filter("")
    assert model.rowCount() == 30


def test_images_saved_on_another_thread_appear_at_the_top(
    model: GalleryModel, library: Library, filled: list[int], qtbot: QtBot
) -> None:
    saved: list[int] = []
    worker = threading.Thread(
        target=lambda: saved.append(library.add(make_image(), make_request(prompt="a new owl"), "m").id)
    )
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: model.rowCount() == 31, timeout=5_000)
    assert model.image_id(0) == saved[0]

    model.set_filter("cat")
    library.add(make_image(), make_request(prompt="another owl"), "m")  # does not match: not shown
    library.add(make_image(), make_request(prompt="a cat again"), "m")
    qtbot.waitUntil(lambda: model.rowCount() == 4, timeout=5_000)
    assert model.record(0).prompt == "a cat again"


def test_deletes_and_changes_follow_the_library(
    model: GalleryModel, library: Library, filled: list[int], qtbot: QtBot
) -> None:
    _read_all(model)
    library.delete([filled[29], filled[5], filled[4]])
    qtbot.waitUntil(lambda: model.rowCount() == 27, timeout=5_000)
    assert filled[29] not in _ids(model) and filled[5] not in _ids(model)
    library.set_favourite([filled[0], filled[1]])
    model.set_filter("", Filters(favourite=True))
    assert _ids(model) == [filled[1], filled[0]]
    with qtbot.waitSignal(model.rowsRemoved, timeout=5_000):
        library.set_favourite(filled[1], False)
    assert _ids(model) == [filled[0]]
    with qtbot.waitSignal(model.dataChanged, timeout=5_000):
        library.set_rating(filled[0], 3)
    assert model.record(0).rating == 3
    assert model.data(model.index(0, 0), GalleryModel.FavouriteRole)


def test_drag_carries_file_urls(model: GalleryModel, filled: list[int]) -> None:
    mime = model.mimeData([model.index(0, 0), model.index(2, 0)])
    assert [u.toLocalFile() for u in mime.urls()] == [str(model.record(0).path), str(model.record(2).path)]
    assert model.mimeTypes() == ["text/uri-list"]
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsDragEnabled
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable


def test_library_failures_become_messages(model: GalleryModel, library: Library, qtbot: QtBot) -> None:
    library.close()
    with qtbot.waitSignal(model.error) as signal:
        model.set_filter("anything")
    assert "closed" in signal.args[0]
    assert model.rowCount() == 0


def test_a_reconcile_resets_the_view(model: GalleryModel, library: Library, filled: list[int], qtbot: QtBot) -> None:
    _read_all(model)
    model.record(0).path.unlink()
    with qtbot.waitSignal(model.modelReset, timeout=5_000):
        library.reconcile(full=True)
    assert model.rowCount() == 30 and model.ids_read == 8  # counted again, the first page read again
    assert model.record(0).missing


def test_mode_filter_and_strength(model: GalleryModel, library: Library, qtbot: QtBot) -> None:
    library.add(make_image(), make_request(), "m")
    img2img = library.add(make_image(), make_request(mode=Mode.IMG2IMG, strength=0.3), "m")
    model.set_filter("", Filters(mode=Mode.IMG2IMG))
    assert _ids(model) == [img2img.id] and model.record(0).strength == 0.3


def test_changes_among_rows_not_read_yet_keep_the_rows_right(library: Library, filled: list[int], qtbot: QtBot) -> None:
    model = GalleryModel(library, page_size=4)
    try:
        assert model.ids_read == 4
        library.delete([filled[3], filled[2]])  # rows 26 and 27: not read yet
        qtbot.waitUntil(lambda: model.rowCount() == 28, timeout=5_000)
        _read_all(model)
        assert _ids(model) == [i for i in filled[::-1] if i not in (filled[3], filled[2])]
    finally:
        model.close()
