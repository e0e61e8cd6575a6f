"""File > New: a blank canvas of a chosen size."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QWidget

from desktop_sd.core.params import HEIGHT, WIDTH
from desktop_sd.ui.param_spins import int_spin

SIZES = ((512, 512), (768, 512), (512, 768), (768, 768), (1024, 1024), (1216, 832), (832, 1216))


class NewCanvasDialog(QDialog):
    def __init__(self, size: QSize, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New canvas")
        self.presets = QComboBox()
        self.presets.addItem("Custom", None)
        for width, height in SIZES:
            self.presets.addItem(f"{width} × {height}", (width, height))
        self.width_spin = int_spin(WIDTH)
        self.height_spin = int_spin(HEIGHT)
        self.width_spin.setValue(size.width())
        self.height_spin.setValue(size.height())
        self.presets.activated.connect(self._preset)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Size", self.presets)
        form.addRow("Width", self.width_spin)
        form.addRow("Height", self.height_spin)
        form.addRow(buttons)

    def chosen_size(self) -> QSize:
        return QSize(self.width_spin.value() // 8 * 8, self.height_spin.value() // 8 * 8)

    def _preset(self, index: int) -> None:
        size = self.presets.itemData(index)
        if size:
            self.width_spin.setValue(size[0])
            self.height_spin.setValue(size[1])
