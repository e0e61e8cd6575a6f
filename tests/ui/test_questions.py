"""Save / Discard questions answer to Alt keys, as a keyboard user expects."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop_sd.ui.questions import save_discard_box


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (Qt.Key.Key_S, QMessageBox.StandardButton.Save),
        (Qt.Key.Key_D, QMessageBox.StandardButton.Discard),
    ],
)
def test_alt_keys_answer_the_unsaved_work_question(
    qtbot: QtBot, key: Qt.Key, expected: QMessageBox.StandardButton
) -> None:
    box = save_discard_box(None, "Unsaved canvas", "Save them first?")
    qtbot.addWidget(box)
    answers: list[QMessageBox.StandardButton] = []
    box.buttonClicked.connect(lambda button: answers.append(box.standardButton(button)))
    box.open()
    qtbot.waitExposed(box)
    box.activateWindow()
    qtbot.waitUntil(box.isActiveWindow)  # mnemonics, like all shortcuts, reach the active window
    qtbot.keyClick(box, key, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: answers == [expected])
    assert box.button(expected).text().replace("&", "") in ("Save", "Discard")


def test_escape_cancels_and_save_is_the_default(qtbot: QtBot) -> None:
    box = save_discard_box(None, "Unsaved canvas", "Save them first?")
    qtbot.addWidget(box)
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Save)
    answers: list[QMessageBox.StandardButton] = []
    box.buttonClicked.connect(lambda button: answers.append(box.standardButton(button)))
    box.open()
    qtbot.waitExposed(box)
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: answers == [QMessageBox.StandardButton.Cancel])
