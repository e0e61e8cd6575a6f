"""The prompt panel's "Hires fix" section: upscale the new image and refine it in a second pass.

Folded away under one switch, as the panel's other less used settings are; bound both ways to the
``PromptModel`` (``hires``, ``hires_scale``, ``hires_steps``, ``hires_strength``, ``hires_upscaler``).
Only text-to-image uses it (as in A1111), so it is disabled in the other modes.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QToolButton, QVBoxLayout, QWidget

from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.core.params import HIRES_SCALE, HIRES_STEPS, HIRES_STRENGTH, HIRES_UPSCALER
from desktop_sd.core.request import Mode
from desktop_sd.core.upscaling import LATENT_BUILTINS, PIXEL_BUILTINS
from desktop_sd.ui.param_spins import float_spin, int_spin


class HiresSection(QWidget):
    notice = Signal(str)  # a typed value out of range

    def __init__(self, model: PromptModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.fold_button = QToolButton()
        self.fold_button.setText("Hires fix")
        self.fold_button.setCheckable(True)
        self.fold_button.setAutoRaise(True)
        self.fold_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.fold_button.setToolTip("Generate, upscale, then refine the upscaled image (text to image)")
        self.enable_check = QCheckBox("Upscale and refine")
        self.enable_check.setToolTip(HIRES_SCALE.tooltip)
        self.scale_spin = float_spin(HIRES_SCALE)
        self.steps_spin = int_spin(HIRES_STEPS)
        self.steps_spin.setSpecialValueText("Same")  # 0: as many steps as the first pass
        self.strength_spin = float_spin(HIRES_STRENGTH)
        self.upscaler_combo = QComboBox()
        self.upscaler_combo.setEditable(True)  # any installed upscaler model, by name
        self.upscaler_combo.setToolTip(HIRES_UPSCALER.tooltip)
        self.upscaler_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.upscaler_combo.setMinimumContentsLength(10)
        self.set_upscalers([])
        for spin in (self.scale_spin, self.steps_spin, self.strength_spin):
            spin.out_of_range.connect(self.notice)

        self._body = QWidget()
        form = QFormLayout(self._body)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("", self.enable_check)
        form.addRow("Upscale by", self.scale_spin)
        form.addRow("Upscaler", self.upscaler_combo)
        form.addRow("Hires steps", self.steps_spin)
        form.addRow("Denoising", self.strength_spin)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.fold_button)
        column.addWidget(self._body)

        m = model
        self.fold_button.toggled.connect(self.unfold)
        self.enable_check.toggled.connect(lambda on: m.update(hires=bool(on)))
        self.scale_spin.valueChanged.connect(lambda v: m.update(hires_scale=round(float(v), HIRES_SCALE.decimals)))
        self.steps_spin.valueChanged.connect(lambda v: m.update(hires_steps=int(v)))
        self.strength_spin.valueChanged.connect(
            lambda v: m.update(hires_strength=round(float(v), HIRES_STRENGTH.decimals))
        )
        self.upscaler_combo.currentTextChanged.connect(self._on_upscaler)
        model.changed.connect(self._sync)
        self._sync(model.values)
        self.unfold(model.values.hires)

    def set_upscalers(self, names: list[str]) -> None:
        """Offer the built-in upscalers, then these installed upscaler models."""
        with QSignalBlocker(self.upscaler_combo):
            self.upscaler_combo.clear()
            for name in (*LATENT_BUILTINS, *PIXEL_BUILTINS, *names):
                self.upscaler_combo.addItem(name)
        self._sync(self.model.values)

    def set_mode(self, mode: Mode) -> None:
        self._body.setEnabled(mode is Mode.TXT2IMG)
        self.fold_button.setToolTip(
            "Generate, upscale, then refine the upscaled image (text to image)"
            if mode is Mode.TXT2IMG
            else "The hires fix applies to text to image only (no image in the frame)"
        )

    def unfold(self, shown: bool) -> None:
        self._body.setVisible(shown)
        self.fold_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if self.fold_button.isChecked() != shown:
            self.fold_button.setChecked(shown)

    def _on_upscaler(self, text: str) -> None:
        if text.strip():
            self.model.update(hires_upscaler=text.strip())

    def _sync(self, values: PromptValues) -> None:
        widgets = (self.enable_check, self.scale_spin, self.steps_spin, self.strength_spin, self.upscaler_combo)
        blockers = [QSignalBlocker(w) for w in widgets]
        self.enable_check.setChecked(values.hires)
        self.scale_spin.setValue(values.hires_scale)
        self.steps_spin.setValue(values.hires_steps)
        self.strength_spin.setValue(values.hires_strength)
        if self.upscaler_combo.currentText() != values.hires_upscaler:
            self.upscaler_combo.setCurrentText(values.hires_upscaler)
        for widget in (self.scale_spin, self.steps_spin, self.strength_spin, self.upscaler_combo):
            widget.setEnabled(values.hires)
        del blockers
        if values.hires and not self._body.isVisible() and not self.fold_button.isChecked():
            self.unfold(True)  # reused settings with a hires pass: show them
