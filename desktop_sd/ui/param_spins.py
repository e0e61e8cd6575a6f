"""Spin boxes built from the parameter table: range, step, decimals, suffix and tooltip in one place."""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from desktop_sd.core.params import NumberParam


def int_spin(spec: NumberParam[int]) -> QSpinBox:
    spin = QSpinBox(minimum=spec.minimum, maximum=spec.maximum, singleStep=spec.step, suffix=spec.suffix)
    spin.setToolTip(spec.tooltip)
    return spin


def float_spin(spec: NumberParam[int] | NumberParam[float]) -> QDoubleSpinBox:
    """Also for whole numbers past a ``QSpinBox``'s 2**31 - 1 (the seed), shown with no decimals."""
    spin = QDoubleSpinBox(decimals=spec.decimals)  # before the range, which is rounded to the decimals
    spin.setRange(spec.minimum, spec.maximum)
    spin.setSingleStep(spec.step)
    spin.setSuffix(spec.suffix)
    spin.setToolTip(spec.tooltip)
    return spin
