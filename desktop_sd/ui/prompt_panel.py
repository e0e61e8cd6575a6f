"""The prompt panel: prompt, negative prompt, model and sampling settings, Generate and Cancel.

Every widget is bound both ways to a ``PromptModel``: editing a widget updates
the model; a change to the model (reuse parameters, load a project) updates
the widgets.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_sd.app.model_choices import ModelChoice, aspect_presets
from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.app.tokens import T5_WINDOWS, TokenCounter, tokenizer_folder
from desktop_sd.core.params import (
    BATCH_SIZE,
    CFG_SCALE,
    CLIP_SKIP,
    HEIGHT,
    MASK_FEATHER,
    OUTPAINT_OVERLAP,
    SEED,
    STEPS,
    STRENGTH,
    WIDTH,
)
from desktop_sd.core.request import Family, Mode
from desktop_sd.core.schedulers import SCHEDULERS
from desktop_sd.models.addons import AddonFile
from desktop_sd.ui.family_controls import fit_extras, fit_negative, fit_to_family
from desktop_sd.ui.hires_section import HiresSection
from desktop_sd.ui.lora_picker import LoraPicker
from desktop_sd.ui.names import mode_name
from desktop_sd.ui.param_spins import RangeDoubleSpin, RangeSpin, float_spin, int_spin
from desktop_sd.ui.seed_box import SeedBox
from desktop_sd.ui.vae_combo import VaeCombo

MODE_HINTS = {
    Mode.TXT2IMG: "A new image from the prompt, in the frame.",
    Mode.IMG2IMG: "The image under the frame, reworked. Strength sets how much changes.",
    Mode.INPAINT: "Only the painted mask inside the frame is repainted.",
    Mode.OUTPAINT: "The frame reaches past the image: the new area is filled in.",
}


NEGATIVE_PLACEHOLDER = "What to avoid (optional)"

class PromptEdit(QPlainTextEdit):
    """A prompt box a few lines high that leaves Ctrl+Enter to the Generate shortcut."""

    def __init__(self, placeholder: str, lines: int) -> None:
        super().__init__()
        self.setPlaceholderText(placeholder)
        self.setTabChangesFocus(True)
        self._height = self.fontMetrics().lineSpacing() * lines + 14
        self.setMinimumHeight(self._height)
        self.setMaximumHeight(self._height * 3)
        # As small as ``lines`` on a small screen; the spare height of a tall panel goes to the prompts.
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height)


class PromptPanel(QWidget):
    manage_models_requested = Signal()
    notice = Signal(str)  # something the user typed could not be used as typed (out of range)
    info = Signal(str)  # a passing note (picking a model set its recommended settings)

    def __init__(
        self,
        model: PromptModel,
        counter: TokenCounter,
        generate: QAction,
        cancel: QAction,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self._counter = counter
        self._choices: list[ModelChoice] = []
        self._mode = Mode.TXT2IMG
        self._focused_once = False

        self.mode_label = QLabel()
        bold = QFont(self.mode_label.font())
        bold.setBold(True)
        bold.setPointSizeF(bold.pointSizeF() * 1.15)
        self.mode_label.setFont(bold)
        self.mode_hint = QLabel(wordWrap=True)
        self.mode_hint.setStyleSheet("color: palette(placeholder-text);")

        self.model_combo = QComboBox()
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(8)
        self.models_button = QToolButton()
        self.models_button.setText("…")
        self.models_button.setToolTip("Open the model manager")
        self.models_button.clicked.connect(self.manage_models_requested)

        self.prompt_edit = PromptEdit("Describe the image…", 3)
        self.prompt_tokens = QLabel()
        self.negative_edit = PromptEdit(NEGATIVE_PLACEHOLDER, 2)
        self.negative_tokens = QLabel()
        self.lora_picker = LoraPicker(model, self._family)  # folded: one line until opened
        self.vae_combo = VaeCombo(model)

        self.advanced_button = QToolButton()
        self.advanced_button.setText("More settings")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.setToolTip("Sampler, CFG scale, batch size and clip skip")
        self.scheduler_combo = QComboBox()
        self.scheduler_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.scheduler_combo.setMinimumContentsLength(10)
        for info in SCHEDULERS:
            self.scheduler_combo.addItem(info.label, info.id)
        self.steps_spin = int_spin(STEPS)
        self.cfg_spin = float_spin(CFG_SCALE)
        self.seed_spin = SeedBox(SEED)  # exact up to 2**64 - 1, which no Qt spin box holds
        self.random_check = QCheckBox("Random seed")
        self.fast_decode_check = QCheckBox("Fast decode (drafts)")
        self.fast_decode_check.setToolTip(
            "Decode with TAESD, the tiny autoencoder: well under a second instead of many on a CPU, softer detail. "
            "Needs TAESD installed (Models)."
        )
        self.last_seed_button = QToolButton()
        self.last_seed_button.setText("Last")
        self.last_seed_button.setToolTip("Use the seed of the last image")
        self.width_spin = int_spin(WIDTH)
        self.height_spin = int_spin(HEIGHT)
        for spin in (self.width_spin, self.height_spin):
            spin.setKeyboardTracking(False)
        self.aspect_combo = QComboBox()
        self.aspect_combo.setToolTip("Sizes this model family was trained at")
        self.aspect_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.swap_button = QToolButton()
        self.swap_button.setText("⇄")
        self.swap_button.setToolTip("Swap width and height")
        self.strength_spin = float_spin(STRENGTH)
        self.feather_spin = int_spin(MASK_FEATHER)
        self.batch_spin = int_spin(BATCH_SIZE)
        self.overlap_spin = int_spin(OUTPAINT_OVERLAP)
        self.clip_skip_spin = int_spin(CLIP_SKIP)
        self.clip_skip_spin.out_of_range.connect(self.notice)
        self._extras_tips = (self.vae_combo.toolTip(), self.clip_skip_spin.toolTip())  # SD 3 / Flux grey them
        spins: tuple[RangeSpin | RangeDoubleSpin, ...] = (
            self.steps_spin, self.cfg_spin, self.width_spin, self.height_spin,
            self.strength_spin, self.feather_spin, self.batch_spin, self.overlap_spin,
        )  # fmt: skip
        for ranged in spins:
            ranged.out_of_range.connect(self.notice)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setMinimumHeight(34)
        self.generate_button.setDefault(True)
        self.generate_button.setStyleSheet(
            "QPushButton { background: #2f6fdd; color: white; font-weight: bold; border-radius: 4px; }"
            "QPushButton:hover { background: #3b7cf0; }"
            "QPushButton:disabled { background: #5a6270; color: #c8ccd4; }"
            "QPushButton:focus { border: 2px solid #ffffff; }"  # the keyboard focus shows on the button too
        )
        self.generate_button.setIcon(generate.icon())
        self.generate_button.setToolTip(f"{generate.toolTip()} ({generate.shortcut().toString()})")
        self.generate_button.clicked.connect(generate.trigger)
        self.estimate_label = QLabel()  # "about 45 s": how long Generate takes here, once a job was measured
        self.estimate_label.setToolTip("Judged by the step and decode times of earlier jobs on this model and device")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(f"Stop the running job ({cancel.shortcut().toString()})")
        self.cancel_button.clicked.connect(cancel.trigger)
        generate.changed.connect(lambda: self.generate_button.setEnabled(generate.isEnabled()))
        cancel.changed.connect(lambda: self.cancel_button.setEnabled(cancel.isEnabled()))
        self.cancel_button.setEnabled(cancel.isEnabled())

        self.hires_section = HiresSection(model)
        self.hires_section.notice.connect(self.notice)
        self._build_layout()
        self._connect_widgets()
        model.changed.connect(self._sync)
        model.last_seed_changed.connect(self._sync_last_seed)
        counter.ready.connect(self._count_tokens)
        self._sync(model.values)
        self._sync_last_seed(model.last_seed)
        self.set_mode(Mode.TXT2IMG)

    # ---- layout ------------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Model", _row(self.model_combo, self.models_button, stretch_first=True))
        form.addRow("Steps", self.steps_spin)
        form.addRow("Seed", _row(self.seed_spin, self.last_seed_button, stretch_first=True))
        form.addRow("", self.random_check)  # its own row keeps the panel narrow
        form.addRow("Width", _row(self.width_spin, self.aspect_combo))
        form.addRow("Height", _row(self.height_spin, self.swap_button, stretch_first=True))
        self.strength_label = QLabel("Strength")
        form.addRow(self.strength_label, self.strength_spin)
        self.feather_label = QLabel("Mask feather")
        form.addRow(self.feather_label, self.feather_spin)
        form.addRow(self.advanced_button)
        # Folded away by default, so the common controls fit a small screen without scrolling.
        self._advanced_rows = (
            self.scheduler_combo, self.cfg_spin, self.batch_spin, self.overlap_spin, self.vae_combo,
            self.clip_skip_spin, self.fast_decode_check,
        )  # fmt: skip
        form.addRow("Sampler", self.scheduler_combo)
        form.addRow("CFG scale", self.cfg_spin)
        form.addRow("Batch", self.batch_spin)
        form.addRow("Outpaint overlap", self.overlap_spin)
        form.addRow("VAE", self.vae_combo)
        form.addRow("Clip skip", self.clip_skip_spin)
        form.addRow("", self.fast_decode_check)
        self._form = form
        self.advanced_button.toggled.connect(self.show_advanced)
        self.show_advanced(False)

        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setSpacing(4)  # tight enough that the common controls fit a 1024x700 window without scrolling
        column.addWidget(self.mode_label)
        column.addWidget(self.mode_hint)
        column.addLayout(_labelled("Prompt", self.prompt_tokens))
        column.addWidget(self.prompt_edit, 2)
        column.addLayout(_labelled("Negative prompt", self.negative_tokens))
        column.addWidget(self.negative_edit, 1)
        column.addWidget(self.lora_picker)
        column.addLayout(form)
        column.addWidget(self.hires_section)
        column.addStretch(0)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # not a stop for Tab: the fields inside are
        scroll.setWidget(inner)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Never narrower than the form: a narrow dock would clip the fields instead of scrolling.
        scroll.setMinimumWidth(inner.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())

        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 3)
        buttons.addWidget(self.estimate_label)
        buttons.addWidget(self.cancel_button, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(scroll, 1)
        outer.addLayout(buttons)

    def _connect_widgets(self) -> None:
        m = self.model
        self.prompt_edit.textChanged.connect(lambda: m.update(prompt=self.prompt_edit.toPlainText()))
        self.negative_edit.textChanged.connect(lambda: m.update(negative_prompt=self.negative_edit.toPlainText()))
        self.model_combo.currentIndexChanged.connect(self._on_model_picked)
        self.scheduler_combo.currentIndexChanged.connect(lambda: m.update(scheduler=self.scheduler_combo.currentData()))
        self.steps_spin.valueChanged.connect(lambda v: m.update(steps=int(v)))
        self.cfg_spin.valueChanged.connect(lambda v: m.update(cfg_scale=float(v)))
        self.seed_spin.valueChanged.connect(lambda v: m.update(seed=v, random_seed=False))
        self.random_check.toggled.connect(lambda on: m.update(random_seed=bool(on)))
        self.fast_decode_check.toggled.connect(lambda on: m.update(fast_decode=bool(on)))
        self.last_seed_button.clicked.connect(m.reuse_last_seed)
        self.width_spin.valueChanged.connect(lambda v: self._on_size_edited(self.width_spin, "width", v))
        self.height_spin.valueChanged.connect(lambda v: self._on_size_edited(self.height_spin, "height", v))
        self.aspect_combo.activated.connect(self._on_aspect_picked)
        self.swap_button.clicked.connect(lambda: m.update(width=m.values.height, height=m.values.width))
        self.strength_spin.valueChanged.connect(lambda v: m.update(strength=round(float(v), STRENGTH.decimals)))
        self.feather_spin.valueChanged.connect(lambda v: m.update(mask_feather=int(v)))
        self.overlap_spin.valueChanged.connect(lambda v: m.update(outpaint_overlap=int(v)))
        self.batch_spin.valueChanged.connect(lambda v: m.update(batch_size=int(v)))
        self.clip_skip_spin.valueChanged.connect(lambda v: m.update(clip_skip=int(v)))

    # ---- outside inputs ------------------------------------------------------------------------------
    def set_models(self, choices: list[ModelChoice]) -> None:
        self._choices = list(choices)
        with QSignalBlocker(self.model_combo):
            self.model_combo.clear()
            for choice in choices:
                self.model_combo.addItem(choice.name, choice.id)
                self.model_combo.setItemData(self.model_combo.count() - 1, choice.id, Qt.ItemDataRole.ToolTipRole)
            if not choices:
                self.model_combo.addItem("No model installed", "")
        self.model_combo.setEnabled(bool(choices))
        self._sync(self.model.values)

    def set_addons(self, loras: list[AddonFile], vaes: list[AddonFile]) -> None:
        """The installed LoRAs (for the picker) and VAEs (for the VAE chooser)."""
        self.lora_picker.set_addons(loras)
        self.vae_combo.set_vaes(vaes)

    def set_mode(self, mode: Mode, mask_in_frame: bool = False) -> None:
        self._mode = mode
        title, hint = mode_name(mode, mask_in_frame), MODE_HINTS[mode]
        if mode is Mode.OUTPAINT and mask_in_frame:
            hint += " The mask painted inside the frame is repainted too."
        self.mode_label.setText(title)
        self.mode_hint.setText(hint)
        uses_strength = mode in (Mode.IMG2IMG, Mode.INPAINT)
        uses_feather = mode in (Mode.INPAINT, Mode.OUTPAINT)
        self.strength_label.setEnabled(uses_strength)
        self.strength_spin.setEnabled(uses_strength)
        self.feather_label.setEnabled(uses_feather)
        self.feather_spin.setEnabled(uses_feather)
        self.hires_section.set_mode(mode)

    def show_advanced(self, shown: bool) -> None:
        """Show or fold away the less used settings (sampler, CFG scale, batch, ... and the hires fix,
        which stays in sight while it is on)."""
        for widget in self._advanced_rows:
            self._form.setRowVisible(widget, shown)
        self.hires_section.setVisible(shown or self.model.values.hires)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if self.advanced_button.isChecked() != shown:
            self.advanced_button.setChecked(shown)

    def focus_prompt(self) -> None:
        self.prompt_edit.setFocus()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._focused_once:  # what the user types when the window opens goes into the prompt
            self._focused_once = True
            QTimer.singleShot(0, self.focus_prompt)

    # ---- model -> widgets ----------------------------------------------------------------------------
    def _sync(self, values: PromptValues) -> None:
        if values.hires and not self.hires_section.isVisibleTo(self):
            self.hires_section.setVisible(True)  # reused parameters with the hires fix on: show it
        blockers = [QSignalBlocker(w) for w in self._bound_widgets()]
        if self.prompt_edit.toPlainText() != values.prompt:
            self.prompt_edit.setPlainText(values.prompt)
        if self.negative_edit.toPlainText() != values.negative_prompt:
            self.negative_edit.setPlainText(values.negative_prompt)
        index = self.model_combo.findData(values.model)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        self.scheduler_combo.setCurrentIndex(max(0, self.scheduler_combo.findData(values.scheduler)))
        self.steps_spin.setValue(values.steps)
        self.cfg_spin.setValue(values.cfg_scale)
        self.seed_spin.setValue(values.seed)
        self.random_check.setChecked(values.random_seed)
        self.fast_decode_check.setChecked(values.fast_decode)
        self.width_spin.setValue(values.width)
        self.height_spin.setValue(values.height)
        self.strength_spin.setValue(values.strength)
        self.feather_spin.setValue(values.mask_feather)
        self.overlap_spin.setValue(values.outpaint_overlap)
        self.batch_spin.setValue(values.batch_size)
        self.clip_skip_spin.setValue(values.clip_skip)
        del blockers
        self._fill_aspects(values)
        family = self._family(values.model)
        self._counter.use_folder(tokenizer_folder(values.model, family), T5_WINDOWS.get(family))
        self._count_tokens()
        replacement = fit_to_family(self._form, self.scheduler_combo, self.cfg_spin, family)
        if replacement is not None:  # the sampler chosen cannot run this family's models
            self.model.update(scheduler=replacement)
        fit_negative(self.negative_edit, self.negative_tokens, family, NEGATIVE_PLACEHOLDER)
        if fit_extras(self.vae_combo, self.clip_skip_spin, family, self._extras_tips):
            self.model.update(vae="")  # the model's own: the only VAE this family runs with

    def _bound_widgets(self) -> list[QWidget]:
        return [
            self.prompt_edit,
            self.negative_edit,
            self.model_combo,
            self.scheduler_combo,
            self.steps_spin,
            self.cfg_spin,
            self.seed_spin,
            self.random_check,
            self.fast_decode_check,
            self.width_spin,
            self.height_spin,
            self.strength_spin,
            self.feather_spin,
            self.batch_spin,
            self.clip_skip_spin,
        ]

    def _sync_last_seed(self, seed: int | None) -> None:
        self.last_seed_button.setEnabled(seed is not None)
        self.last_seed_button.setToolTip(
            f"Use the seed of the last image ({seed})" if seed is not None else "No image generated yet"
        )

    def _fill_aspects(self, values: PromptValues) -> None:
        family = self._family(values.model)
        with QSignalBlocker(self.aspect_combo):
            self.aspect_combo.clear()
            current = -1
            for label, width, height in aspect_presets(family):
                self.aspect_combo.addItem(f"{label}  {width}×{height}", (width, height))
                if (width, height) == (values.width, values.height):
                    current = self.aspect_combo.count() - 1
            if current < 0:
                self.aspect_combo.addItem("Custom", None)
                current = self.aspect_combo.count() - 1
            self.aspect_combo.setCurrentIndex(current)

    def _family(self, model_id: str) -> Family:
        return next((c.family for c in self._choices if c.id == model_id), Family.SD1)

    def _count_tokens(self) -> None:
        for edit, label in ((self.prompt_edit, self.prompt_tokens), (self.negative_edit, self.negative_tokens)):
            count = self._counter.count(edit.toPlainText())
            label.setText(count.label)
            style = "color: #e0524a; font-weight: bold;" if count.cut_off else "color: palette(placeholder-text);"
            label.setStyleSheet(style)
            label.setToolTip(count.tooltip)

    # ---- widgets -> model ----------------------------------------------------------------------------
    def _on_model_picked(self) -> None:
        model_id = self.model_combo.currentData()
        if model_id:
            self.pick_model(model_id)

    def pick_model(self, model_id: str) -> None:
        """Use ``model_id``, with the steps and CFG its model card recommends when they are known (SD-Turbo's
        one step and CFG 0, FLUX.1 [dev]'s 3.5 guidance): a model run at another's settings looks broken."""
        choice = next((c for c in self._choices if c.id == model_id), None)
        changes = choice.suggested() if choice is not None else {}
        values = self.model.values
        changed = any(getattr(values, k) != v for k, v in changes.items())
        self.model.update(model=model_id, **changes)
        if changed and choice is not None:
            self.info.emit(choice.suggestion_text())

    def _on_size_edited(self, spin: QSpinBox, field: str, value: int) -> None:
        snapped = int(value) // 8 * 8
        self.model.update(**{field: snapped})
        if spin.value() != snapped:  # the model may not have changed: show the size really used
            with QSignalBlocker(spin):
                spin.setValue(snapped)

    def _on_aspect_picked(self, index: int) -> None:
        size = self.aspect_combo.itemData(index)
        if size:
            self.model.update(width=size[0], height=size[1])


def _row(*widgets: QWidget, stretch_first: bool = False) -> QWidget:
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if stretch_first and i == 0 else 0)
    return holder


def _labelled(text: str, right: QLabel) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(QLabel(text))
    row.addStretch(1)
    row.addWidget(right)
    return row
