"""An exact whole-number entry for the seed: up to 2**64 - 1, which no Qt spin box holds.

``QSpinBox`` stops at 2**31 - 1 and ``QDoubleSpinBox`` rounds past 2**53
(6952411511246973023 would become ...928), so this spin box keeps a Python
``int`` and edits its digits as text.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QWidget

from desktop_sd.core.params import NumberParam


class SeedBox(QAbstractSpinBox):
    """A spin box over ``spec``'s range with the value as an exact ``int`` (``valueChanged(object)``)."""

    valueChanged = Signal(object)  # an int; Signal(int) would overflow past 2**63 - 1

    def __init__(self, spec: NumberParam[int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._minimum = int(spec.minimum)
        self._maximum = int(spec.maximum)
        self._step = int(spec.step)
        self._suffix = spec.suffix
        self._value = int(spec.default)
        self.setToolTip(spec.tooltip)
        self.lineEdit().setText(str(self._value))
        self.lineEdit().textEdited.connect(self._on_text_edited)
        self.editingFinished.connect(self._show_value)

    # the QSpinBox-like interface the panel and its tests use
    def value(self) -> int:
        return self._value

    def setValue(self, value: int) -> None:
        value = min(self._maximum, max(self._minimum, int(value)))
        changed = value != self._value
        self._value = value
        if self.lineEdit().text() != str(value):
            self.lineEdit().setText(str(value))
        if changed:
            self.valueChanged.emit(value)

    def minimum(self) -> int:
        return self._minimum

    def maximum(self) -> int:
        return self._maximum

    def singleStep(self) -> int:
        return self._step

    def suffix(self) -> str:
        return self._suffix

    # QAbstractSpinBox overrides
    def stepBy(self, steps: int) -> None:
        self.setValue(self._value + steps * self._step)

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self._value > self._minimum:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        if self._value < self._maximum:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        return flags

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        return self._state(text), text, pos

    def _state(self, text: str) -> QValidator.State:
        if text == "":
            return QValidator.State.Intermediate
        if not text.isascii() or not text.isdigit() or int(text) > self._maximum:
            return QValidator.State.Invalid
        return QValidator.State.Acceptable if int(text) >= self._minimum else QValidator.State.Intermediate

    def fixup(self, text: str) -> str:
        return str(self._value)

    def _on_text_edited(self, text: str) -> None:
        if text.isascii() and text.isdigit():
            self.setValue(int(text))

    def _show_value(self) -> None:
        if self.lineEdit().text() != str(self._value):
            self.lineEdit().setText(str(self._value))
