"""The main window's menu bar, canvas toolbar and help boxes, built from its ``WindowActions``."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSlider,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

import desktop_sd
from desktop_sd.core import paths
from desktop_sd.ui.actions import WindowActions
from desktop_sd.ui.shortcuts_dialog import ShortcutsDialog

APP_TITLE = "Desktop SD"  # also the window title's suffix


@dataclass(frozen=True)
class CanvasToolbar:
    bar: QToolBar
    brush_size: QSpinBox
    hardness: QSlider  # 0-100


@dataclass(frozen=True)
class WindowMenus:
    undo: QAction
    redo: QAction
    view: QMenu
    generate: QMenu | None = None


def build_toolbar(window: QMainWindow, actions: WindowActions, brush_size: int, hardness: float) -> CanvasToolbar:
    """The canvas toolbar (tools, brush size and hardness, mask commands, zoom), added to ``window``."""
    a = actions
    bar = QToolBar("Canvas tools", window)
    bar.setObjectName("canvas-toolbar")
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    for action in (a.tool_frame, a.tool_brush, a.tool_eraser):
        bar.addAction(action)
        button = bar.widgetForAction(action)
        if isinstance(button, QToolButton):  # the tools are named; the commands after them are icons with tips
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    bar.addSeparator()
    bar.addWidget(QLabel(" Size "))
    size = QSpinBox()
    size.setRange(1, 1024)
    size.setSuffix(" px")
    size.setToolTip("Brush size ([ and ])")
    size.setValue(brush_size)
    bar.addWidget(size)
    bar.addWidget(QLabel("  Hardness "))
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setToolTip("Brush edge hardness")
    slider.setValue(round(hardness * 100))
    slider.setMaximumWidth(110)
    bar.addWidget(slider)
    bar.addSeparator()
    for action in (a.clear_mask, a.invert_mask, a.fill_mask):
        bar.addAction(action)
    bar.addSeparator()
    for action in (a.zoom_fit, a.zoom_actual):
        bar.addAction(action)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return CanvasToolbar(bar, size, slider)


def build_menus(
    window: QMainWindow, actions: WindowActions, undo_stack: QUndoStack, panels: list[QDockWidget | QToolBar]
) -> WindowMenus:
    """The menu bar; ``panels`` get show/hide entries in the View menu."""
    a = actions
    menus = window.menuBar()
    file_menu = menus.addMenu("&File")
    for item in (a.new, a.open, None, a.save, a.save_as, a.export, None, a.import_images, None, a.quit):
        file_menu.addSeparator() if item is None else file_menu.addAction(item)
    edit = menus.addMenu("&Edit")
    undo = undo_stack.createUndoAction(window, "&Undo")
    undo.setShortcut("Ctrl+Z")
    redo = undo_stack.createRedoAction(window, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    for item in (undo, redo, None, a.copy, a.paste, None, a.clear_mask, a.invert_mask, a.fill_mask):
        edit.addSeparator() if item is None else edit.addAction(item)
    view = menus.addMenu("&View")
    for item in (a.zoom_in, a.zoom_out, a.zoom_fit, a.zoom_actual, None):
        view.addSeparator() if item is None else view.addAction(item)
    for panel in panels:
        view.addAction(panel.toggleViewAction())
    view.addSeparator()
    view.addAction(a.toggle_panels)
    view.addAction(a.reset_layout)
    themes = view.addMenu("T&heme")
    for action in a.themes.actions():
        themes.addAction(action)
    tools = view.addMenu("&Tools")
    for item in (a.tool_frame, a.tool_brush, a.tool_eraser, None, a.brush_smaller, a.brush_larger):
        tools.addSeparator() if item is None else tools.addAction(item)
    generate = menus.addMenu("&Generate")
    for item in (a.generate, a.cancel, None, a.previous, a.next, a.apply, a.discard, None, a.last_seed, a.upscale):
        generate.addSeparator() if item is None else generate.addAction(item)
    generate.addSeparator()
    generate.addAction(a.prompt_weights)
    models = menus.addMenu("&Models")
    for item in (a.manage_models, a.add_model_file, a.add_model_folder, None, a.servers):
        models.addSeparator() if item is None else models.addAction(item)
    help_menu = menus.addMenu("&Help")
    help_menu.addAction(a.shortcuts)
    help_menu.addAction(a.open_logs)
    help_menu.addAction(a.about)
    # Shortcuts of actions only in menus work once the actions belong to the window too.
    window.addActions([*a.all(), undo, redo])
    return WindowMenus(undo, redo, view, generate)


def show_shortcuts(window: QMainWindow) -> None:
    dialog = window.findChild(ShortcutsDialog) or ShortcutsDialog(window)
    dialog.show()
    dialog.raise_()


def show_about(parent: QWidget) -> None:
    QMessageBox.about(
        parent,
        f"About {APP_TITLE}",
        f"<h3>{APP_TITLE} {desktop_sd.__version__}</h3>"
        "<p>Local, offline Stable Diffusion: canvas with inpainting and outpainting, "
        "history gallery, model manager.</p>",
    )


def open_log_folder() -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_dir())))
