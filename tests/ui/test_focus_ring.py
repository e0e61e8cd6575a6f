"""Every control the keyboard can reach shows that it has the focus, in the dark theme too.

A keyboard user tabbing through the window must see where they are: each
focusable, visible control is drawn differently with keyboard focus than
without it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktop_sd.ui.theme import Theme, apply_theme
from tests.ui.conftest import WindowFactory


@pytest.fixture
def dark_theme(qapp: QApplication) -> Iterator[None]:
    style, palette = qapp.style().name(), QPalette(qapp.palette())
    apply_theme(qapp, Theme.DARK)
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)


def _reachable(root: QWidget) -> list[QWidget]:
    """Controls Tab can land on: visible, enabled, taking tab focus and not another widget's focus proxy."""
    found = []
    for widget in root.findChildren(QWidget):
        if not (widget.isVisibleTo(root) and widget.isEnabled()):
            continue
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus or widget.focusProxy() is not None:
            continue
        if isinstance(widget.parentWidget(), QWidget) and widget.parentWidget().focusProxy() is widget:
            continue  # the line edit inside a spin box: the spin box is what is drawn focused
        found.append(widget)
    return found


def _drawn(widget: QWidget) -> QImage:
    shown = widget.parentWidget() if widget.parentWidget() is not None and _is_view_port(widget) else widget
    return shown.grab().toImage()


def _is_view_port(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    return isinstance(parent, QAbstractScrollArea) and parent.viewport() is widget


def test_every_focusable_control_shows_keyboard_focus(
    qtbot: QtBot, make_window: WindowFactory, dark_theme: None
) -> None:
    window = make_window()
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    controls = _reachable(window)
    assert len(controls) > 15  # the prompt panel, toolbar fields, history and queue at least
    unmarked = []
    for control in controls:
        window.setFocus(Qt.FocusReason.OtherFocusReason)
        QApplication.processEvents()
        before = _drawn(control)
        control.setFocus(Qt.FocusReason.ShortcutFocusReason)  # marks a keyboard focus change, as Tab does
        qtbot.waitUntil(control.hasFocus)
        after = _drawn(control)
        if before == after:
            name = control.accessibleName() or control.objectName() or control.toolTip() or ""
            unmarked.append(f"{type(control).__name__} {name!r}")
    assert unmarked == [], f"no visible focus on: {unmarked}"
