"""The "Upscale…" dialog: which upscaler, and by how much."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from desktop_sd.core.upscaling import PIXEL_BUILTINS, UPSCALE_SCALE
from desktop_sd.ui.param_spins import float_spin

NO_MODELS_HINT = "Install upscaler models (Real-ESRGAN and others) in Models, or use Lanczos."


class UpscaleDialog(QDialog):
    def __init__(self, upscalers: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Upscale")
        self.upscaler_combo = QComboBox()
        for name in (*upscalers, *PIXEL_BUILTINS):  # an installed model first: it is what most people want
            self.upscaler_combo.addItem(name)
        self.scale_spin = float_spin(UPSCALE_SCALE)
        self.scale_spin.setValue(UPSCALE_SCALE.default if upscalers else 2.0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Upscale")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Upscaler", self.upscaler_combo)
        form.addRow("Upscale by", self.scale_spin)
        if not upscalers:
            hint = QLabel(NO_MODELS_HINT, wordWrap=True)
            hint.setStyleSheet("color: palette(placeholder-text);")
            form.addRow(hint)
        form.addRow(buttons)

    def choice(self) -> tuple[str, float]:
        return self.upscaler_combo.currentText(), round(float(self.scale_spin.value()), UPSCALE_SCALE.decimals)


def ask_upscale(parent: QWidget, upscalers: list[str]) -> tuple[str, float] | None:
    """The upscaler and factor chosen, or None when cancelled (modal; tests replace this function)."""
    dialog = UpscaleDialog(upscalers, parent)
    return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None
