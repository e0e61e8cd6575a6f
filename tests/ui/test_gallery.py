"""The history dock as a user drives it: search, filters, details, keys, actions, and what it emits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QListView
from pytestqt.qtbot import QtBot

from desktop_sd.app.gallery_model import GalleryModel
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.library.store import Library
from desktop_sd.ui.gallery import GalleryDock
from desktop_sd.ui.gallery_dialogs import GalleryDialogs
from tests.library import samples
from tests.library.helpers import FolderTrash, make_image, make_request


class FakeDialogs(GalleryDialogs):
    """Answers the dock's questions without a screen, and remembers what was asked."""

    def __init__(self) -> None:
        self.confirm = True
        self.folder: Path | None = None
        self.tags: list[str] | None = None
        self.errors: list[str] = []
        self.infos: list[str] = []
        self.asked_delete: list[int] = []

    def confirm_delete(self, parent: object, count: int) -> bool:
        self.asked_delete.append(count)
        return self.confirm

    def choose_folder(self, parent: object, title: str) -> Path | None:
        return self.folder

    def edit_tags(self, parent: object, tags: list[str]) -> list[str] | None:
        return self.tags

    def error(self, parent: object, message: str) -> None:
        self.errors.append(message)

    def info(self, parent: object, message: str) -> None:
        self.infos.append(message)


@pytest.fixture
def trash(tmp_path: Path) -> FolderTrash:
    return FolderTrash(tmp_path / "trash")


@pytest.fixture
def library(tmp_path: Path, trash: FolderTrash) -> Iterator[Library]:
    lib = Library.open(tmp_path / "library", trash=trash)
    for n in range(6):
        prompt = "a lighthouse at dusk" if n == 2 else f"a forest path {n}"
        request = make_request(prompt=prompt, seed=100 + n, mode=Mode.IMG2IMG if n == 4 else Mode.TXT2IMG)
        lib.add(make_image((40 * n, 90, 160)), request, "model-b" if n == 3 else "model-a")
    yield lib
    lib.close()


@pytest.fixture
def dialogs() -> FakeDialogs:
    return FakeDialogs()


@pytest.fixture
def opened(tmp_path: Path) -> list[QUrl]:
    return []


@pytest.fixture
def dock(library: Library, dialogs: FakeDialogs, opened: list[QUrl], qtbot: QtBot) -> Iterator[GalleryDock]:
    model = GalleryModel(library)
    widget = GalleryDock(model, dialogs=dialogs, open_url=opened.append)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitUntil(lambda: model.rowCount() == 6)
    yield widget
    model.close()


def _select(dock: GalleryDock, *rows: int) -> None:
    selection = dock.view.selectionModel()
    selection.clearSelection()
    for n, row in enumerate(rows):
        flag = QItemSelectionModel.SelectionFlag.Select
        index = dock.model.index(row, 0)
        if n == 0:
            selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        else:
            selection.select(index, flag)


def _search(dock: GalleryDock, qtbot: QtBot, text: str) -> None:
    with qtbot.waitSignal(dock.filters.changed, timeout=2_000):
        dock.filters.search.setText(text)


def test_the_view_is_virtualised_icon_grid(dock: GalleryDock) -> None:
    view = dock.view
    assert view.viewMode() == QListView.ViewMode.IconMode
    assert view.uniformItemSizes() and view.movement() == QListView.Movement.Static
    assert view.selectionMode() == QAbstractItemView.SelectionMode.ExtendedSelection
    assert view.dragEnabled() and dock.windowTitle() == "History"
    assert dock.status.text() == "6 images in the history"


def test_typing_a_search_narrows_the_list(dock: GalleryDock, qtbot: QtBot) -> None:
    _search(dock, qtbot, "lighthouse")
    assert dock.model.rowCount() == 1 and dock.model.record(0).prompt == "a lighthouse at dusk"
    qtbot.waitUntil(lambda: dock.status.text() == "1 image match")
    _search(dock, qtbot, "")
    assert dock.model.rowCount() == 6


def test_filters_model_mode_and_favourites(dock: GalleryDock, library: Library, qtbot: QtBot) -> None:
    combo = dock.filters.model
    combo.showPopup()  # the list of models is read when it opens
    combo.hidePopup()
    assert [combo.itemText(i) for i in range(combo.count())] == ["All models", "model-a", "model-b"]
    with qtbot.waitSignal(dock.filters.changed):
        combo.setCurrentIndex(2)
    assert dock.model.rowCount() == 1 and dock.model.record(0).model == "model-b"
    with qtbot.waitSignal(dock.filters.changed):
        combo.setCurrentIndex(0)
    mode = dock.filters.mode
    with qtbot.waitSignal(dock.filters.changed):
        mode.setCurrentIndex(mode.findData(Mode.IMG2IMG))
    assert dock.model.rowCount() == 1 and dock.model.record(0).mode is Mode.IMG2IMG
    with qtbot.waitSignal(dock.filters.changed):
        mode.setCurrentIndex(0)
    library.set_favourite(dock.model.record(5).id)
    with qtbot.waitSignal(dock.filters.changed):
        dock.filters.favourites.setChecked(True)
    assert dock.model.rowCount() == 1 and dock.model.record(0).favourite
    with qtbot.waitSignal(dock.filters.changed):
        dock.filters.date.setCurrentIndex(1)  # today
    assert dock.model.rowCount() == 1
    with qtbot.waitSignal(dock.filters.changed):
        dock.filters.date.setCurrentIndex(5)  # custom: today to today
    assert dock.filters.date_from.isVisibleTo(dock) and dock.model.rowCount() == 1


def test_details_show_every_parameter(dock: GalleryDock) -> None:
    _select(dock, 3)  # the lighthouse (newest first)
    text = dock.details.toPlainText()
    for expected in ("a lighthouse at dusk", "blurry", "model-a", "Euler a", "102", "64 × 64", "Text to image", "7.5"):
        assert expected in text
    _select(dock, 3, 4)
    assert "2 images selected" in dock.details.toPlainText()


def test_reuse_parameters_seed_and_send_to_canvas(dock: GalleryDock, qtbot: QtBot) -> None:
    _select(dock, 3)
    record = dock.model.record(3)
    with qtbot.waitSignal(dock.reuse_parameters) as reused:
        dock.act_reuse.trigger()
    request = reused.args[0]
    assert isinstance(request, GenerationRequest)
    assert request.parameters() == record.to_request().parameters() and request.seed == 102
    with qtbot.waitSignal(dock.reuse_seed) as seed:
        dock.act_seed.trigger()
    assert seed.args == [102]
    dock.view.setFocus()
    with qtbot.waitSignal(dock.send_to_canvas) as sent:
        qtbot.keyClick(dock.view, Qt.Key.Key_Return)
    assert sent.args == [str(record.path), False]
    with qtbot.waitSignal(dock.send_to_canvas) as sent:
        dock.act_send_init.trigger()
    assert sent.args == [str(record.path), True]


def test_a_missing_file_is_not_sent_but_its_parameters_are_reusable(
    dock: GalleryDock, dialogs: FakeDialogs, qtbot: QtBot
) -> None:
    _select(dock, 0)
    dock.model.record(0).path.unlink()
    with qtbot.assertNotEmitted(dock.send_to_canvas):
        dock.act_send.trigger()
    assert "missing" in dialogs.errors[0]
    with qtbot.waitSignal(dock.reuse_parameters):
        dock.act_reuse.trigger()


def test_delete_key_asks_then_deletes(
    dock: GalleryDock, dialogs: FakeDialogs, trash: FolderTrash, library: Library, qtbot: QtBot
) -> None:
    _select(dock, 0, 1)
    doomed = [dock.model.record(0), dock.model.record(1)]
    dialogs.confirm = False
    dock.view.setFocus()
    qtbot.keyClick(dock.view, Qt.Key.Key_Delete)
    assert dialogs.asked_delete == [2] and dock.model.rowCount() == 6 and trash.trashed == []
    dialogs.confirm = True
    qtbot.keyClick(dock.view, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: dock.model.rowCount() == 4)
    assert trash.trashed == [r.path for r in doomed]
    assert library.get(doomed[0].id) is None
    assert dock.view.currentIndex().isValid()  # the selection moves on to the next image


def test_copy_puts_the_image_and_its_file_on_the_clipboard(dock: GalleryDock, qtbot: QtBot) -> None:
    _select(dock, 2)
    dock.view.setFocus()
    qtbot.keyClick(dock.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasImage() and mime.urls()[0].toLocalFile() == str(dock.model.record(2).path)


def test_ctrl_f_focuses_the_search_box(dock: GalleryDock, qtbot: QtBot) -> None:
    dock.view.setFocus()
    dock.activateWindow()
    qtbot.keyClick(dock.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: dock.filters.search.hasFocus())


def test_open_containing_folder(dock: GalleryDock, opened: list[QUrl]) -> None:
    _select(dock, 1)
    dock.act_open_folder.trigger()
    assert [u.toLocalFile() for u in opened] == [str(dock.model.record(1).path.parent)]


def test_favourite_rate_and_tag_several(
    dock: GalleryDock, dialogs: FakeDialogs, library: Library, qtbot: QtBot
) -> None:
    _select(dock, 0, 2)
    ids = [dock.model.record(0).id, dock.model.record(2).id]
    assert dock.act_favourite.text() == "Favourite"
    dock.act_favourite.trigger()
    assert all(library.get(i).favourite for i in ids)
    assert dock.act_favourite.text() == "Unfavourite"
    dock.act_favourite.trigger()
    assert not any(library.get(i).favourite for i in ids)
    dock.act_rate[4].trigger()
    assert [library.get(i).rating for i in ids] == [4, 4]
    dialogs.tags = ["sunset", "keep"]
    dock.act_tags.trigger()
    assert all(library.get(i).tags == ("sunset", "keep") for i in ids)
    dialogs.tags = None  # cancelled: nothing changes
    dock.act_tags.trigger()
    assert library.get(ids[0]).tags == ("sunset", "keep")
    qtbot.waitUntil(lambda: "sunset, keep" in dock.details.toPlainText())


def test_export_several(dock: GalleryDock, dialogs: FakeDialogs, tmp_path: Path) -> None:
    _select(dock, 0, 1, 2)
    dialogs.folder = tmp_path / "exported"
    dock.act_export.trigger()
    assert len(list(dialogs.folder.iterdir())) == 3 and dialogs.errors == []
    dock.model.record(1).path.unlink()
    dock.act_export.trigger()
    assert "skipped 1" in dialogs.infos[0]


def test_actions_follow_the_selection(dock: GalleryDock) -> None:
    dock.view.selectionModel().clear()
    dock.view.setCurrentIndex(QModelIndex())
    assert not dock.act_delete.isEnabled() and not dock.act_send.isEnabled()
    _select(dock, 0)
    assert dock.act_delete.isEnabled() and dock.act_send.isEnabled() and dock.act_seed.isEnabled()


def test_library_errors_are_shown_not_raised(dock: GalleryDock, dialogs: FakeDialogs, library: Library) -> None:
    _select(dock, 0)
    library.close()
    dock.act_favourite.trigger()
    assert dialogs.errors and "closed" in dialogs.errors[-1]


def test_select_an_image_far_down_the_list(library: Library, qtbot: QtBot) -> None:
    for n in range(40):
        library.add(make_image(), make_request(prompt=f"filler {n}"), "m")
    model = GalleryModel(library, page_size=8)
    dock = GalleryDock(model, dialogs=FakeDialogs())
    qtbot.addWidget(dock)
    try:
        oldest = library.search("lighthouse")[0]
        assert dock.select_id(oldest.id)
        assert dock.current_record() == oldest and "a lighthouse at dusk" in dock.details.toPlainText()
        assert not dock.select_id(10_000)
    finally:
        model.close()


def test_refresh_finds_files_added_behind_the_apps_back(dock: GalleryDock, library: Library, qtbot: QtBot) -> None:
    samples.png(library.folder / "dropped.png", {"parameters": samples.A1111_TEXT})
    record = dock.model.record(0)
    record.path.unlink()
    with qtbot.waitSignal(dock.model.modelReset, timeout=5_000):
        dock.act_refresh.trigger()
    assert dock.model.rowCount() == 7
    assert dock.model.record(0).seed == 3141592653  # indexed from its metadata, newest in the list
    assert dock.model.data(dock.model.index(dock.model.find_row(record.id), 0), GalleryModel.MissingRole)
