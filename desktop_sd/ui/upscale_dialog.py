"""The "Upscale…" dialog: which upscaler, by how much, and optionally a refine in tiles."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QWidget,
)

from desktop_sd.app.upscale_refine import RefineChoice, UpscaleChoice
from desktop_sd.core.upscaling import PIXEL_BUILTINS, REFINE_OVERLAP, REFINE_STRENGTH, REFINE_TILE, UPSCALE_SCALE
from desktop_sd.ui.param_spins import float_spin, int_spin

NO_MODELS_HINT = "Install upscaler models (Real-ESRGAN and others) in Models, or use Lanczos."
REFINE_HINT = "Prompt, model ({model}), steps, CFG, sampler and seed come from the prompt panel."
NO_MODEL_HINT = "Choose a model in the prompt panel first: the refine uses its prompt, steps, CFG, sampler and seed."


def _hint(text: str) -> QLabel:
    label = QLabel(text, wordWrap=True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


class UpscaleDialog(QDialog):
    """``refine_model``: the prompt panel's model as shown ("" when none is chosen); ``last``: the
    choice to start from (the previous one this session)."""

    def __init__(
        self,
        upscalers: list[str],
        parent: QWidget | None = None,
        refine_model: str = "",
        last: UpscaleChoice | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Upscale")
        self.upscaler_combo = QComboBox()
        for name in (*upscalers, *PIXEL_BUILTINS):  # an installed model first: it is what most people want
            self.upscaler_combo.addItem(name)
        self.scale_spin = float_spin(UPSCALE_SCALE)
        self.scale_spin.setValue(UPSCALE_SCALE.default if upscalers else 2.0)
        self.refine_check = QCheckBox("Refine in tiles")
        self.refine_check.setToolTip(
            "Then run img2img over the enlarged image, one tile at a time: adds detail in little memory"
        )
        self.strength_spin = float_spin(REFINE_STRENGTH)
        self.strength_spin.setValue(REFINE_STRENGTH.default)
        self.tile_spin = int_spin(REFINE_TILE)
        self.tile_spin.setValue(REFINE_TILE.default)
        self.overlap_spin = int_spin(REFINE_OVERLAP)
        self.overlap_spin.setValue(REFINE_OVERLAP.default)
        self.refine_hint = _hint(REFINE_HINT.format(model=refine_model) if refine_model else NO_MODEL_HINT)
        self.tile_spin.valueChanged.connect(self._limit_overlap)
        self.refine_check.toggled.connect(self._show_refine)
        if last is not None:
            self._start_from(last)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Upscale")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Upscaler", self.upscaler_combo)
        form.addRow("Upscale by", self.scale_spin)
        if not upscalers:
            form.addRow(_hint(NO_MODELS_HINT))
        form.addRow(self.refine_check)
        form.addRow("Strength", self.strength_spin)
        form.addRow("Tile size", self.tile_spin)
        form.addRow("Tile overlap", self.overlap_spin)
        form.addRow(self.refine_hint)
        form.addRow(buttons)
        self._limit_overlap(self.tile_spin.value())
        self._show_refine(self.refine_check.isChecked())
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 56)  # the hints wrap in two lines, not five

    def _start_from(self, last: UpscaleChoice) -> None:
        if self.upscaler_combo.findText(last.upscaler) >= 0:
            self.upscaler_combo.setCurrentText(last.upscaler)
        if last.scale is not None:
            self.scale_spin.setValue(last.scale)
        if last.refine is not None:
            self.refine_check.setChecked(True)
            self.strength_spin.setValue(last.refine.strength)
            self.tile_spin.setValue(last.refine.tile_size)
            self.overlap_spin.setValue(last.refine.tile_overlap)

    def _show_refine(self, on: bool) -> None:
        """The refine's settings are shown greyed out while it is off, so what it would ask stays visible."""
        for widget in (self.strength_spin, self.tile_spin, self.overlap_spin, self.refine_hint):
            widget.setEnabled(on)

    def _limit_overlap(self, tile: int) -> None:
        """Neighbouring tiles may share less than half a tile (as ``check_upscale`` requires)."""
        largest = min(REFINE_OVERLAP.maximum, (tile // 2 - 1) // REFINE_OVERLAP.step * REFINE_OVERLAP.step)
        self.overlap_spin.setMaximum(max(REFINE_OVERLAP.minimum, largest))

    def choice(self) -> UpscaleChoice:
        refine = None
        if self.refine_check.isChecked():
            refine = RefineChoice(
                round(float(self.strength_spin.value()), REFINE_STRENGTH.decimals),
                self.tile_spin.value(),
                self.overlap_spin.value(),
            )
        scale = round(float(self.scale_spin.value()), UPSCALE_SCALE.decimals)
        return UpscaleChoice(self.upscaler_combo.currentText(), scale, refine)


def ask_upscale(
    parent: QWidget, upscalers: list[str], refine_model: str = "", last: UpscaleChoice | None = None
) -> UpscaleChoice | None:
    """The upscaler, factor and refine chosen, or None when cancelled (modal; tests replace this function)."""
    dialog = UpscaleDialog(upscalers, parent, refine_model, last)
    return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None
