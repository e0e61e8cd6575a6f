"""Spin boxes built from the parameter table: range, step, decimals, suffix and tooltip in one place.

A plain spin box refuses a typed number past its range without a word (the
user types 99999 and sees 999). These accept the typing, then move the number
into range when editing ends and say so through ``out_of_range``.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from desktop_sd.core.params import NumberParam

_NUMBER = re.compile(r"\s*(-?\d+(?:[.,]\d*)?)\s*")


def _typed(text: str, suffix: str) -> float | None:
    """The number in a spin box's text (its suffix removed), or None when it is no number."""
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    match = _NUMBER.fullmatch(text)
    return float(match.group(1).replace(",", ".")) if match else None


def range_message(spec: NumberParam[Any], typed: float, used: float) -> str:
    unit = f" {spec.unit}" if spec.unit else ""
    shown = int(typed) if typed == int(typed) else typed
    return (
        f"{spec.label} {shown} is out of range: choose {spec.minimum} to {spec.maximum}{unit}. "
        f"Using {used:g} instead."
    )


class _Ranged:
    """The shared part of both spin boxes (a mix-in over ``QAbstractSpinBox``)."""

    spec: NumberParam[Any]

    def _out_of_range(self, text: str) -> float | None:
        typed = _typed(text, self.suffix())  # type: ignore[attr-defined]
        return typed if typed is not None and not self.spec.accepts(typed) else None

    def validate(self, text: str, pos: int) -> Any:
        if self._out_of_range(text) is not None:
            return QValidator.State.Intermediate, text, pos  # let the user finish typing
        return super().validate(text, pos)  # type: ignore[misc]

    def fixup(self, text: str) -> str:
        typed = self._out_of_range(text)
        if typed is None:
            return str(super().fixup(text))  # type: ignore[misc]
        used = self.spec.clamp(typed)
        self.out_of_range.emit(range_message(self.spec, typed, used))  # type: ignore[attr-defined]
        return f"{self.textFromValue(used)}{self.suffix()}"  # type: ignore[attr-defined]


class RangeSpin(_Ranged, QSpinBox):
    out_of_range = Signal(str)  # a message for the user: what was typed, the range, what is used

    def __init__(self, spec: NumberParam[int]) -> None:
        super().__init__()
        self.spec = spec
        self.setRange(spec.minimum, spec.maximum)
        self.setSingleStep(spec.step)
        self.setSuffix(spec.suffix)
        self.setToolTip(spec.tooltip)


class RangeDoubleSpin(_Ranged, QDoubleSpinBox):
    out_of_range = Signal(str)

    def __init__(self, spec: NumberParam[int] | NumberParam[float]) -> None:
        super().__init__()
        self.spec = spec
        self.setDecimals(spec.decimals)  # before the range, which is rounded to the decimals
        self.setRange(spec.minimum, spec.maximum)
        self.setSingleStep(spec.step)
        self.setSuffix(spec.suffix)
        self.setToolTip(spec.tooltip)


def int_spin(spec: NumberParam[int]) -> RangeSpin:
    return RangeSpin(spec)


def float_spin(spec: NumberParam[int] | NumberParam[float]) -> RangeDoubleSpin:
    return RangeDoubleSpin(spec)
