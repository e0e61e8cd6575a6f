"""The main window's menu bar, canvas toolbar and help boxes, built from its ``WindowActions``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import QLabel, QMessageBox, QSlider, QSpinBox, QToolBar

import desktop_sd
from desktop_sd.core import paths

if TYPE_CHECKING:
    from desktop_sd.ui.main_window import MainWindow

APP_TITLE = "Desktop SD"  # also the window title's suffix


def build_toolbar(window: MainWindow) -> None:
    a = window.actions_
    bar = QToolBar("Canvas tools", window)
    bar.setObjectName("canvas-toolbar")
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    for action in (a.tool_frame, a.tool_brush, a.tool_eraser):
        bar.addAction(action)
    bar.addSeparator()
    bar.addWidget(QLabel(" Size "))
    window.brush_size = QSpinBox(minimum=1, maximum=1024, suffix=" px")
    window.brush_size.setToolTip("Brush size ([ and ])")
    window.brush_size.setValue(window.view.brush_size)
    bar.addWidget(window.brush_size)
    bar.addWidget(QLabel("  Hardness "))
    window.hardness = QSlider(Qt.Orientation.Horizontal)
    window.hardness.setRange(0, 100)
    window.hardness.setToolTip("Brush edge hardness")
    window.hardness.setValue(round(window.view.hardness * 100))
    window.hardness.setMaximumWidth(110)
    bar.addWidget(window.hardness)
    bar.addSeparator()
    for action in (a.clear_mask, a.invert_mask, a.fill_mask):
        bar.addAction(action)
    bar.addSeparator()
    for action in (a.zoom_fit, a.zoom_actual):
        bar.addAction(action)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    window.toolbar = bar


def build_menus(window: MainWindow) -> None:
    a = window.actions_
    menus = window.menuBar()
    file_menu = menus.addMenu("&File")
    for item in (a.new, a.open, None, a.save, a.save_as, a.export, None, a.quit):
        file_menu.addSeparator() if item is None else file_menu.addAction(item)
    edit = menus.addMenu("&Edit")
    undo = window.canvas.undo_stack.createUndoAction(window, "&Undo")
    undo.setShortcut("Ctrl+Z")
    redo = window.canvas.undo_stack.createRedoAction(window, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    window.undo_action, window.redo_action = undo, redo
    for item in (undo, redo, None, a.copy, a.paste, None, a.clear_mask, a.invert_mask, a.fill_mask):
        edit.addSeparator() if item is None else edit.addAction(item)
    view = menus.addMenu("&View")
    for item in (a.zoom_in, a.zoom_out, a.zoom_fit, a.zoom_actual, None):
        view.addSeparator() if item is None else view.addAction(item)
    for dock in (window.prompt_dock, window.history_dock, window.queue_dock):
        view.addAction(dock.toggleViewAction())
    view.addAction(window.toolbar.toggleViewAction())
    view.addSeparator()
    view.addAction(a.reset_layout)
    tools = view.addMenu("&Tools")
    for item in (a.tool_frame, a.tool_brush, a.tool_eraser, None, a.brush_smaller, a.brush_larger):
        tools.addSeparator() if item is None else tools.addAction(item)
    generate = menus.addMenu("&Generate")
    for item in (a.generate, a.cancel, None, a.previous, a.next, a.apply, a.discard, None, a.last_seed):
        generate.addSeparator() if item is None else generate.addAction(item)
    models = menus.addMenu("&Models")
    for item in (a.manage_models, a.add_model_file, a.add_model_folder):
        models.addAction(item)
    help_menu = menus.addMenu("&Help")
    help_menu.addAction(a.shortcuts)
    help_menu.addAction(a.open_logs)
    help_menu.addAction(a.about)
    # Shortcuts of actions only in menus work once the actions belong to the window too.
    window.addActions([*a.all(), undo, redo])


def show_shortcuts(window: MainWindow) -> None:
    rows = [
        (action.text().replace("&", ""), action.shortcut().toString())
        for action in window.actions_.all()
        if not action.shortcut().isEmpty()
    ]
    rows += [
        ("Undo", "Ctrl+Z"),
        ("Redo", "Ctrl+Shift+Z"),
        ("Pan", "Space+drag or middle button"),
        ("Zoom", "Mouse wheel"),
    ]
    table = "".join(f"<tr><td>{name}</td><td><b>{keys}</b></td></tr>" for name, keys in rows)
    box = QMessageBox(
        QMessageBox.Icon.NoIcon,
        "Keyboard shortcuts",
        f"<table cellpadding=3>{table}</table>",
        QMessageBox.StandardButton.Close,
        window,
    )
    box.setModal(False)
    box.show()


def show_about(window: MainWindow) -> None:

    QMessageBox.about(
        window,
        f"About {APP_TITLE}",
        f"<h3>{APP_TITLE} {desktop_sd.__version__}</h3>"
        "<p>Local, offline Stable Diffusion: canvas with inpainting and outpainting, "
        "history gallery, model manager.</p>",
    )


def open_log_folder() -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_dir())))
