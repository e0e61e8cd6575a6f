"""The prompt panel bound both ways to its model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from pytestqt.qtbot import QtBot

from desktop_sd.app.model_choices import ModelChoice
from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.app.tokens import TokenCounter
from desktop_sd.core.params import NUMBER_PARAMS, Kind
from desktop_sd.core.request import Family, Mode
from desktop_sd.ui.prompt_panel import PromptPanel

# table parameter -> the panel's spin box for it
SPINS = {
    "steps": "steps_spin",
    "cfg_scale": "cfg_spin",
    "seed": "seed_spin",
    "width": "width_spin",
    "height": "height_spin",
    "strength": "strength_spin",
    "mask_feather": "feather_spin",
    "batch_size": "batch_spin",
    "outpaint_overlap": "overlap_spin",
    "clip_skip": "clip_skip_spin",
}
CHOICES = [ModelChoice("m1", "Model one", Family.SD1), ModelChoice("xl", "Model XL", Family.SDXL)]


@pytest.fixture
def panel(qtbot: QtBot, tmp_path: Path) -> Iterator[PromptPanel]:
    generate, cancel = QAction("Generate"), QAction("Cancel")
    cancel.setEnabled(False)
    widget = PromptPanel(PromptModel(PromptValues(model="m1")), TokenCounter(tmp_path / "none"), generate, cancel)
    widget.set_models(CHOICES)
    widget.actions_ = (generate, cancel)  # type: ignore[attr-defined]
    qtbot.addWidget(widget)
    yield widget


def test_editing_widgets_updates_the_model(qtbot: QtBot, panel: PromptPanel) -> None:
    qtbot.keyClicks(panel.prompt_edit, "a lake")
    panel.negative_edit.setPlainText("blurry")
    panel.steps_spin.setValue(12)
    panel.cfg_spin.setValue(4.5)
    panel.scheduler_combo.setCurrentIndex(panel.scheduler_combo.findData("euler_a"))
    panel.batch_spin.setValue(4)
    panel.feather_spin.setValue(6)
    panel.strength_spin.setValue(0.4)
    v = panel.model.values
    assert (v.prompt, v.negative_prompt, v.steps, v.cfg_scale) == ("a lake", "blurry", 12, 4.5)
    assert (v.scheduler, v.batch_size, v.mask_feather, v.strength) == ("euler_a", 4, 6, 0.4)


def test_every_number_in_the_table_has_a_spin_box_with_its_range(panel: PromptPanel) -> None:
    assert set(SPINS) == set(NUMBER_PARAMS)
    for name, spec in NUMBER_PARAMS.items():
        spin = getattr(panel, SPINS[name])
        assert (spin.minimum(), spin.maximum(), spin.singleStep()) == (spec.minimum, spec.maximum, spec.step), name
        assert (spin.suffix(), spin.toolTip()) == (spec.suffix, spec.tooltip), name
        if spec.kind is Kind.FLOAT:
            assert spin.decimals() == spec.decimals, name


def test_the_ends_of_each_spin_box_reach_the_model_exactly(panel: PromptPanel) -> None:
    for name, spec in NUMBER_PARAMS.items():
        spin = getattr(panel, SPINS[name])
        for end in (spec.maximum, spec.minimum):
            spin.setValue(end)
            assert getattr(panel.model.values, name) == end, (name, end)


def test_changing_the_model_updates_the_widgets(panel: PromptPanel) -> None:
    panel.model.set_values(
        PromptValues(prompt="from history", model="xl", steps=30, seed=9, random_seed=False, width=1216, height=832)
    )
    assert panel.prompt_edit.toPlainText() == "from history" and panel.steps_spin.value() == 30
    assert panel.model_combo.currentData() == "xl"
    assert panel.seed_spin.value() == 9 and not panel.random_check.isChecked()
    assert panel.aspect_combo.currentText().startswith("3:2")  # SDXL's own sizes


def test_typing_a_seed_fixes_it_and_the_last_seed_button_recalls_it(panel: PromptPanel) -> None:
    assert panel.random_check.isChecked() and not panel.last_seed_button.isEnabled()
    panel.seed_spin.setValue(31337)
    assert panel.model.values.seed == 31337 and not panel.model.values.random_seed
    panel.random_check.setChecked(True)
    panel.model.set_last_seed(424242)
    assert panel.last_seed_button.isEnabled()
    panel.last_seed_button.click()
    assert panel.model.values.seed == 424242 and not panel.random_check.isChecked()


def test_aspect_presets_follow_the_model_family_and_set_the_size(panel: PromptPanel) -> None:
    labels = [panel.aspect_combo.itemText(i) for i in range(panel.aspect_combo.count())]
    assert labels[0] == "1:1  512×512"
    index = next(i for i, text in enumerate(labels) if text.startswith("2:3"))
    panel.aspect_combo.activated.emit(index)
    assert (panel.model.values.width, panel.model.values.height) == (512, 768)
    panel.swap_button.click()
    assert (panel.width_spin.value(), panel.height_spin.value()) == (768, 512)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("xl"))
    assert panel.model.values.model == "xl"
    assert panel.aspect_combo.itemText(0) == "1:1  1024×1024"


def test_sizes_are_kept_to_multiples_of_8(panel: PromptPanel) -> None:
    panel.width_spin.setValue(517)
    assert panel.model.values.width == 512 and panel.width_spin.value() == 512


def test_token_count_shows_the_chunks_and_turns_red_only_when_cut(panel: PromptPanel) -> None:
    panel._counter.load_now()  # the chosen model's tokenizer (here the shipped SD 1.x one), read at once
    panel.prompt_edit.setPlainText("a photo of a (cat:1.2)")
    assert panel.prompt_tokens.text() == "5 / 75"
    panel.prompt_edit.setPlainText(", ".join(["masterpiece"] * 60))  # 119 tokens
    assert panel.prompt_tokens.text() == "120 / 150"  # the first chunk, cut at a comma, counts 75
    assert "e0524a" not in panel.prompt_tokens.styleSheet() and "2 chunks" in panel.prompt_tokens.toolTip()
    panel._counter.set_prompt_weights(False)  # the syntax setting off: one chunk, the rest is cut
    assert panel.prompt_tokens.text().endswith(" / 75") and "e0524a" in panel.prompt_tokens.styleSheet()
    assert "cut off" in panel.prompt_tokens.toolTip()


def test_clip_skip_is_in_the_folded_settings(panel: PromptPanel) -> None:
    panel.show()
    assert not panel.clip_skip_spin.isVisible()
    panel.show_advanced(True)
    assert panel.clip_skip_spin.isVisible()
    panel.clip_skip_spin.setValue(2)
    assert panel.model.values.clip_skip == 2 and panel.model.values.to_request().clip_skip == 2


def test_strength_and_feather_are_enabled_only_where_they_apply(panel: PromptPanel) -> None:
    expected = {
        Mode.TXT2IMG: (False, False),
        Mode.IMG2IMG: (True, False),
        Mode.INPAINT: (True, True),
        Mode.OUTPAINT: (False, True),
    }
    for mode, (strength, feather) in expected.items():
        panel.set_mode(mode)
        assert (panel.strength_spin.isEnabled(), panel.feather_spin.isEnabled()) == (strength, feather), mode


def test_buttons_trigger_and_mirror_their_actions(panel: PromptPanel) -> None:
    generate, cancel = panel.actions_  # type: ignore[attr-defined]
    fired: list[str] = []
    generate.triggered.connect(lambda: fired.append("generate"))
    panel.generate_button.click()
    assert fired == ["generate"] and not panel.cancel_button.isEnabled()
    cancel.setEnabled(True)
    assert panel.cancel_button.isEnabled()


def test_no_models_shows_a_disabled_picker(panel: PromptPanel) -> None:
    panel.set_models([])
    assert not panel.model_combo.isEnabled() and panel.model_combo.currentText() == "No model installed"


def test_the_seed_box_holds_the_largest_seed_exactly(qtbot: QtBot, panel: PromptPanel) -> None:
    big = 6952411511246973023  # a float would make it ...2928
    panel.model.set_values(PromptValues(model="m1", seed=big, random_seed=False))
    assert panel.seed_spin.value() == big and panel.seed_spin.text() == str(big)
    panel.seed_spin.lineEdit().clear()
    qtbot.keyClicks(panel.seed_spin.lineEdit(), str(2**64 - 1))
    assert panel.model.values.seed == 2**64 - 1
    panel.seed_spin.stepBy(1)  # already at the top
    assert panel.model.values.seed == 2**64 - 1
    panel.seed_spin.stepBy(-2)
    assert panel.model.values.seed == 2**64 - 3


def test_a_typed_number_out_of_range_is_moved_into_range_and_the_user_told(qtbot: QtBot) -> None:
    from PySide6.QtCore import Qt

    from desktop_sd.app.prompt_model import PromptModel
    from desktop_sd.app.tokens import TokenCounter
    from desktop_sd.ui.prompt_panel import PromptPanel

    model = PromptModel()
    panel = PromptPanel(model, TokenCounter(), QAction("Generate"), QAction("Cancel"))
    qtbot.addWidget(panel)
    panel.show()
    told: list[str] = []
    panel.notice.connect(told.append)
    for spin, typed in ((panel.width_spin, "99999"), (panel.steps_spin, "0")):
        spin.setFocus()
        spin.lineEdit().selectAll()
        qtbot.keyClicks(spin, typed)
        qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert model.values.width == 4096 and model.values.steps == 1
    assert "Width 99999 is out of range: choose 64 to 4096" in told[0] and "4096" in told[0]
    assert "Steps 0 is out of range" in told[1]
