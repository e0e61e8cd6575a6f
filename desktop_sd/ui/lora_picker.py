"""The LoRA picker: installed LoRAs with a search box, each with on/off, a weight slider and its trigger words.

Folded to one button by default, so the prompt panel still fits a small
screen. Bound to ``PromptValues.loras`` (the switched-on LoRAs and their
weights); ``<lora:NAME:WEIGHT>`` tags typed in the prompt work as well.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.core.request import Family
from desktop_sd.models.addons import AddonFile

SLIDER_STEPS = 100  # the slider moves in hundredths
WEIGHT_RANGE = (-2.0, 2.0)


class LoraRow(QWidget):
    """One LoRA: on/off with its name, a weight slider and the value, and a button inserting its trigger words."""

    edited = Signal()
    insert_words = Signal(str)

    def __init__(self, addon: AddonFile) -> None:
        super().__init__()
        self.addon = addon
        self.check = QCheckBox(addon.name)
        tip = f"{addon.name} — for {addon.family_label} models"
        if addon.problem:
            tip += f"\nCannot be used: {addon.problem}"
            self.check.setEnabled(False)
        self.check.setToolTip(tip)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(WEIGHT_RANGE[0] * SLIDER_STEPS), int(WEIGHT_RANGE[1] * SLIDER_STEPS))
        self.slider.setSingleStep(5)
        self.slider.setPageStep(25)
        self.slider.setValue(SLIDER_STEPS)
        self.slider.setToolTip("Weight")
        self.slider.setMinimumWidth(60)
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(self.value_label.fontMetrics().horizontalAdvance("-2.00") + 4)
        self.words_button = QToolButton()
        self.words_button.setText("+")
        self.words_button.setEnabled(bool(addon.triggers))
        self.words_button.setToolTip(
            "Add its trigger words to the prompt: " + ", ".join(addon.triggers)
            if addon.triggers
            else "This LoRA's file names no trigger words"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.check, 2)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.value_label)
        layout.addWidget(self.words_button)
        self.check.toggled.connect(self.edited)
        self.slider.valueChanged.connect(self._on_slider)
        self.words_button.clicked.connect(lambda: self.insert_words.emit(", ".join(self.addon.triggers)))
        self._on_slider(self.slider.value(), quiet=True)

    @property
    def weight(self) -> float:
        return round(self.slider.value() / SLIDER_STEPS, 2)

    def set_state(self, on: bool, weight: float) -> None:
        with QSignalBlocker(self.check), QSignalBlocker(self.slider):
            self.check.setChecked(on)
            self.slider.setValue(round(weight * SLIDER_STEPS))
        self._on_slider(self.slider.value(), quiet=True)

    def _on_slider(self, value: int, quiet: bool = False) -> None:
        self.value_label.setText(f"{value / SLIDER_STEPS:.2f}")
        if not quiet and self.check.isChecked():
            self.edited.emit()


class LoraPicker(QWidget):
    """The installed LoRAs for the chosen model's family, bound to ``PromptValues.loras``."""

    def __init__(
        self, model: PromptModel, family_of: Callable[[str], Family] | None = None, parent: QWidget | None = None
    ) -> None:
        """``family_of(model_id)`` tells the chosen model's family: LoRAs made for others are not offered."""
        super().__init__(parent)
        self.model = model
        self._family_of = family_of
        self._addons: list[AddonFile] = []
        self._family = Family.UNKNOWN
        self.rows: list[LoraRow] = []
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setToolTip("LoRAs: switch them on and set their weights (or type <lora:NAME:WEIGHT>)")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search LoRAs")
        self.search.setClearButtonEnabled(True)
        self.empty_label = QLabel("No LoRA installed. Put .safetensors files in the loras folder, or import them.")
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text);")
        self.body = QWidget()
        self._rows_layout = QVBoxLayout()
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(2)
        body = QVBoxLayout(self.body)
        body.setContentsMargins(8, 0, 0, 0)
        body.addWidget(self.search)
        body.addWidget(self.empty_label)
        body.addLayout(self._rows_layout)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.body)
        self.toggle.toggled.connect(self.unfold)
        self.search.textChanged.connect(self._filter)
        model.changed.connect(self._sync)
        self.unfold(False)
        self._update_title()

    def set_addons(self, addons: list[AddonFile]) -> None:
        """The installed LoRAs (those made for another family than the chosen model's are left out)."""
        self._addons = list(addons)
        self._family = self._current_family()
        family = self._family
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows = []
        for addon in self._addons:
            if family is not Family.UNKNOWN and addon.family not in (family, Family.UNKNOWN):
                continue
            row = LoraRow(addon)
            row.edited.connect(self._on_edited)
            row.insert_words.connect(self._insert_words)
            self._rows_layout.addWidget(row)
            self.rows.append(row)
        self.empty_label.setVisible(not self.rows)
        self._sync(self.model.values)
        self._filter(self.search.text())

    def unfold(self, shown: bool) -> None:
        self.body.setVisible(shown)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if self.toggle.isChecked() != shown:
            with QSignalBlocker(self.toggle):
                self.toggle.setChecked(shown)

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for row in self.rows:
            words = " ".join((row.addon.name, *row.addon.triggers)).lower()
            row.setVisible(not needle or needle in words)

    def _current_family(self) -> Family:
        return self._family_of(self.model.values.model) if self._family_of is not None else Family.UNKNOWN

    def _sync(self, values: PromptValues) -> None:
        if self._addons and self._current_family() is not self._family:
            self.set_addons(self._addons)  # another model family: other LoRAs fit
            return
        weights = {name.lower(): weight for name, weight in values.loras}
        for row in self.rows:
            key = row.addon.name.lower()
            row.set_state(key in weights, weights.get(key, row.weight))
        self._update_title()

    def _on_edited(self) -> None:
        picked = tuple((row.addon.name, row.weight) for row in self.rows if row.check.isChecked())
        hidden = {row.addon.name.lower() for row in self.rows}
        kept = tuple((n, w) for n, w in self.model.values.loras if n.lower() not in hidden)  # not listed here
        self.model.update(loras=kept + picked)

    def _insert_words(self, words: str) -> None:
        prompt = self.model.values.prompt.rstrip()
        joined = f"{prompt}, {words}" if prompt else words
        self.model.update(prompt=joined)

    def _update_title(self) -> None:
        on = len(self.model.values.loras)
        self.toggle.setText(f"LoRAs ({on} on)" if on else "LoRAs")
