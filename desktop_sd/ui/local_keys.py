"""Keys that mean one thing in a focused widget and another in the window, without "ambiguous shortcut".

Qt refuses a key that two active shortcuts share (the window's F for the
frame tool and the history's F for favourite). A widget that installs
``LocalKeys`` takes its own keys first while it has the focus: Qt asks it
(a ShortcutOverride event), it says yes, and the key press then triggers its
own action. Everywhere else the window's shortcut works as before.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QWidget

PROPERTY = "takesOwnKeys"


def _sequence(event: QKeyEvent) -> QKeySequence:
    return QKeySequence(event.keyCombination())


class LocalKeys(QObject):
    """Routes the shortcuts of ``widget``'s own actions to them while ``widget`` has the focus."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._widget = widget
        widget.setProperty(PROPERTY, True)  # tells the shortcut-clash test that this widget's keys come first
        widget.installEventFilter(self)

    def _action_for(self, event: QKeyEvent) -> QAction | None:
        pressed = _sequence(event)
        for action in self._widget.actions():
            if action.isEnabled() and any(s.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch
                                          for s in action.shortcuts()):  # fmt: skip
                return action
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget and isinstance(event, QKeyEvent):
            if event.type() == QEvent.Type.ShortcutOverride and self._action_for(event) is not None:
                event.accept()  # ours: the window's shortcut with the same key does not fire
                return True
            if event.type() == QEvent.Type.KeyPress:
                action = self._action_for(event)
                if action is not None:
                    action.trigger()
                    return True
        return False
