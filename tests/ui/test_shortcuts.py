"""One shortcut map: no key does two things in one place, and the history's keys work inside the window."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMainWindow, QMenu, QWidget
from pytestqt.qtbot import QtBot

from desktop_sd.cli.gui import build_window
from desktop_sd.ui.gallery import GalleryDock
from desktop_sd.ui.local_keys import PROPERTY
from desktop_sd.ui.shortcuts_dialog import ShortcutsDialog
from tests.app.fake_backend import FakeBackend
from tests.ui.conftest import WindowFactory

WINDOW_WIDE = (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut)


def shortcut_clashes(window: QMainWindow) -> list[str]:
    """Keys that two actions share where both are active: Qt would answer "ambiguous shortcut" and do nothing."""
    window_keys: dict[str, set[str]] = defaultdict(set)
    local_keys: dict[tuple[int, str], set[str]] = defaultdict(set)
    local_owner: dict[int, QWidget] = {}
    for action in {*window.findChildren(QAction), *window.actions()}:
        name = action.text().replace("&", "").split("\t")[0] or action.objectName()
        for widget in action.associatedObjects():
            if not isinstance(widget, QWidget) or widget.window() is not window:
                continue
            for sequence in action.shortcuts():
                key = sequence.toString()
                if action.shortcutContext() in WINDOW_WIDE:
                    window_keys[key].add(name)
                elif widget.focusPolicy() != Qt.FocusPolicy.NoFocus and not isinstance(widget, QMenu):
                    # a widget shortcut is live only while its widget has the focus (menus handle keys themselves)
                    local_keys[(id(widget), key)].add(name)
                    local_owner[id(widget)] = widget
    clashes = [f"{key}: {sorted(names)}" for key, names in window_keys.items() if len(names) > 1]
    for (owner, key), names in local_keys.items():
        if len(names) > 1:
            clashes.append(f"{key} on {local_owner[owner].objectName()}: {sorted(names)}")
        elif key in window_keys and not local_owner[owner].property(PROPERTY):
            clashes.append(f"{key}: {sorted(names)} in {local_owner[owner].objectName()} and {window_keys[key]}")
    return clashes


def test_no_key_does_two_things_in_one_place(make_window: WindowFactory) -> None:
    assert shortcut_clashes(make_window()) == []


def test_the_whole_window_with_its_history_has_no_clashes(tmp_path: Path) -> None:
    _app, window = build_window(["--library", str(tmp_path / "library")], FakeBackend)
    try:
        assert isinstance(window.history_dock, GalleryDock)
        assert shortcut_clashes(window) == []
    finally:
        window.shutdown()
        window.deleteLater()


def test_history_keys_act_on_the_selected_thumbnail_not_the_canvas(
    qtbot: QtBot, tmp_path: Path, fake_model_dir: Path
) -> None:
    library = str(tmp_path / "library")
    _app, window = build_window(["--model", str(fake_model_dir), "--library", library], FakeBackend)
    history = window.services.history
    try:
        assert history is not None and history.gallery is not None
        window.show()
        qtbot.waitExposed(window)
        window.prompt.update(prompt="a lighthouse", steps=1, width=64, height=64)
        with qtbot.waitSignal(history.saver.saved, timeout=10_000):
            window.generation.generate()
        qtbot.waitUntil(lambda: history.gallery.total() == 1)
        dock = window.history_dock
        assert isinstance(dock, GalleryDock)
        dock.view.selectionModel().setCurrentIndex(
            history.gallery.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        window.view.set_tool("brush")
        dock.view.setFocus()
        qtbot.waitUntil(dock.view.hasFocus)

        qtbot.keyClick(dock.view, Qt.Key.Key_F)
        qtbot.waitUntil(lambda: history.gallery.record(0).favourite)
        assert str(window.view.tool) == "brush"  # the frame tool's F did not fire

        qtbot.keyClick(dock.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
        assert QGuiApplication.clipboard().mimeData().urls()[0].toLocalFile() == str(history.gallery.record(0).path)

        window.prompt_panel.prompt_edit.setFocus()
        qtbot.waitUntil(window.prompt_panel.prompt_edit.hasFocus)
        qtbot.keyClick(window.prompt_panel.prompt_edit, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(dock.filters.search.hasFocus)  # Ctrl+F from anywhere
    finally:
        window.shutdown()
        window.deleteLater()


def test_the_shortcuts_dialog_names_every_shortcut(qtbot: QtBot, tmp_path: Path) -> None:
    _app, window = build_window(["--library", str(tmp_path / "library")], FakeBackend)
    try:
        window.actions_.shortcuts.trigger()
        dialog = window.findChild(ShortcutsDialog)
        assert dialog is not None and dialog.isVisible()
        table = dialog.table
        rows = [tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]
        names = {what for _where, what, _keys in rows}
        assert {"Generate", "Previous candidate", "Search history", "Favourite", "Undo"} <= names
        assert not any(what in ("◀", "▶", "") for _where, what, _keys in rows)
        assert ("History (thumbnails focused)", "Favourite", "F") in rows
        shown = {keys for *_rest, keys in rows}
        for action in window.findChildren(QAction):  # every shortcut the window has is listed
            if not action.shortcut().isEmpty():
                assert any(action.shortcut().toString() in keys for keys in shown), action.text()
    finally:
        window.shutdown()
        window.deleteLater()
