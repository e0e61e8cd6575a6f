"""The VAE chooser: "Model's own" or an installed VAE, bound to ``PromptValues.vae``."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox, QWidget

from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.models.addons import AddonFile

OWN = "Model's own"


class VaeCombo(QComboBox):
    def __init__(self, model: PromptModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt = model
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(10)
        self.setToolTip("The VAE turns the result into pixels; some models recommend a separate one")
        self.set_vaes([])
        self.currentIndexChanged.connect(lambda: model.update(vae=self.currentData() or ""))
        model.changed.connect(self._sync)

    def set_vaes(self, vaes: list[AddonFile]) -> None:
        with QSignalBlocker(self):
            self.clear()
            self.addItem(OWN, "")
            for vae in vaes:
                self.addItem(vae.name, vae.name)
                self.setItemData(self.count() - 1, str(vae.path), Qt.ItemDataRole.ToolTipRole)
        self._sync(self.prompt.values)

    def _sync(self, values: PromptValues) -> None:
        index = self.findData(values.vae)
        if index < 0 and values.vae:  # reused from an image, not installed: shown, so the choice is visible
            with QSignalBlocker(self):
                self.addItem(f"{values.vae} (missing)", values.vae)
            index = self.count() - 1
        with QSignalBlocker(self):
            self.setCurrentIndex(max(0, index))
