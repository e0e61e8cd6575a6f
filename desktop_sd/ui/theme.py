"""The look: a dark theme by default (as image tools use), a light one, or the system's; icons for actions.

The themes are Qt's Fusion style with a palette, so every widget follows
without style sheets of its own. Icons come from qtawesome's Material Design
Icons set (Apache 2.0 / SIL OFL fonts shipped inside the package), drawn in
the palette's text colour so they read on either theme.
"""

from __future__ import annotations

from enum import StrEnum

import qtawesome
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QAbstractScrollArea, QApplication

from desktop_sd.core.settings import Settings


class Theme(StrEnum):
    DARK = "dark"
    LIGHT = "light"
    SYSTEM = "system"  # what the operating system says, dark where it says nothing


ACCENT = QColor(47, 111, 221)


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    base, window, text = QColor(30, 30, 33), QColor(43, 43, 47), QColor(226, 226, 230)
    for role, colour in (
        (roles.Window, window),
        (roles.WindowText, text),
        (roles.Base, base),
        (roles.AlternateBase, QColor(38, 38, 42)),
        (roles.ToolTipBase, QColor(52, 52, 58)),
        (roles.ToolTipText, text),
        (roles.PlaceholderText, QColor(140, 140, 148)),
        (roles.Text, text),
        (roles.Button, QColor(54, 54, 60)),
        (roles.ButtonText, text),
        (roles.BrightText, QColor(255, 110, 110)),
        (roles.Light, QColor(70, 70, 78)),
        (roles.Midlight, QColor(60, 60, 66)),
        (roles.Mid, QColor(40, 40, 44)),
        (roles.Dark, QColor(24, 24, 26)),
        (roles.Shadow, QColor(0, 0, 0)),
        (roles.Highlight, ACCENT),
        (roles.HighlightedText, QColor(255, 255, 255)),
        (roles.Link, QColor(110, 160, 255)),
    ):
        palette.setColor(role, colour)
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(disabled, role, QColor(118, 118, 124))
    palette.setColor(disabled, roles.Button, QColor(46, 46, 50))
    return palette


def resolve(theme: Theme | str) -> Theme:
    """DARK or LIGHT: what ``theme`` means on this system now."""
    choice = Theme(theme) if theme in Theme._value2member_map_ else Theme.DARK
    if choice is not Theme.SYSTEM:
        return choice
    scheme = QGuiApplication.styleHints().colorScheme()
    return Theme.LIGHT if scheme == Qt.ColorScheme.Light else Theme.DARK


def apply_theme(app: QApplication, theme: Theme | str) -> Theme:
    """Style the whole application; returns the theme in force."""
    chosen = resolve(theme)
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if chosen is Theme.DARK else app.style().standardPalette())
    qtawesome.reset_cache()
    return chosen


def show_focus(view: QAbstractScrollArea, framed: bool = True) -> None:
    """Draw a 1 px accent frame round ``view`` while it has the focus.

    Fusion marks focus on fields, buttons and boxes, but not on item views or a
    graphics view, so a keyboard user tabbing onto the history, the queue or the
    canvas would not see where they are. ``framed=False`` keeps the frame
    invisible without the focus (the canvas has none).
    """
    if not view.objectName():
        view.setObjectName(f"{type(view).__name__}{id(view):x}")
    name = view.objectName()
    rest = "palette(mid)" if framed else "transparent"
    view.setStyleSheet(
        f"#{name} {{ border: 1px solid {rest}; }} #{name}:focus {{ border: 1px solid palette(highlight); }}"
    )


def icon(name: str) -> QIcon:
    """A Material Design icon (``mdi6.<name>``) in the current text colour, dimmed when disabled."""
    palette = QApplication.palette()
    return qtawesome.icon(
        f"mdi6.{name}",
        color=palette.color(QPalette.ColorRole.ButtonText),
        color_disabled=palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText),
    )


# Action attribute of ``WindowActions`` -> icon name.
ACTION_ICONS = {
    "new": "file-plus-outline",
    "open": "folder-open-outline",
    "save": "content-save-outline",
    "export": "export-variant",
    "copy": "content-copy",
    "paste": "content-paste",
    "clear_mask": "selection-remove",
    "invert_mask": "invert-colors",
    "fill_mask": "format-color-fill",
    "zoom_in": "magnify-plus-outline",
    "zoom_out": "magnify-minus-outline",
    "zoom_fit": "fit-to-screen-outline",
    "zoom_actual": "numeric-1-box-outline",
    "tool_frame": "crop-free",
    "tool_brush": "brush",
    "tool_eraser": "eraser",
    "generate": "creation",
    "cancel": "stop",
    "previous": "chevron-left",
    "next": "chevron-right",
    "apply": "check",
    "discard": "close",
    "last_seed": "dice-multiple-outline",
    "manage_models": "cube-outline",
    "toggle_panels": "page-layout-body",
}


def set_action_icons(actions: object) -> None:
    for name, icon_name in ACTION_ICONS.items():
        action = getattr(actions, name, None)
        if isinstance(action, QAction):
            action.setIcon(icon(icon_name))


def bind_theme_choice(group: QActionGroup, settings: Settings, actions: object) -> None:
    """The View > Theme choices: checked as in ``settings``; picking one applies it at once and keeps it."""
    for action in group.actions():
        action.setChecked(action.data() == settings.theme)

    def picked(action: QAction) -> None:
        settings.theme = str(action.data())
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, settings.theme)
            set_action_icons(actions)

    group.triggered.connect(picked)
