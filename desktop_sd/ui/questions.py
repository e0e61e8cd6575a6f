"""Questions with Save / Discard / Cancel answers, each reachable with an Alt key.

Qt's standard Save and Discard buttons carry no mnemonic on Linux and Windows
(only Yes and No do), so a keyboard user could answer "Save the canvas?" only
with Tab and Space. Here Alt+S saves, Alt+D discards, Esc cancels.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

Button = QMessageBox.StandardButton

LABELS = {Button.Save: "&Save", Button.Discard: "&Discard", Button.Cancel: "Cancel"}


def save_discard_box(parent: QWidget | None, title: str, text: str, warning: bool = False) -> QMessageBox:
    """The question box, not yet shown; Save is the default button."""
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Question
    box = QMessageBox(icon, title, text, Button.Save | Button.Discard | Button.Cancel, parent)
    for which, label in LABELS.items():
        button = box.button(which)
        if button is not None:
            button.setText(label)
    box.setDefaultButton(Button.Save)
    box.setEscapeButton(Button.Cancel)
    return box


def ask_save_discard(parent: QWidget | None, title: str, text: str, warning: bool = False) -> Button:
    """Ask and wait: ``Save``, ``Discard`` or ``Cancel`` (also for Esc or closing the box)."""
    box = save_discard_box(parent, title, text, warning)
    box.exec()
    clicked = box.clickedButton()
    return box.standardButton(clicked) if clicked is not None else Button.Cancel
