"""The prompt panel's Hires section, bound both ways to the prompt model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from pytestqt.qtbot import QtBot

from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.app.tokens import TokenCounter
from desktop_sd.core.params import HIRES_SCALE, HIRES_STEPS, HIRES_STRENGTH
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.ui.prompt_panel import PromptPanel


@pytest.fixture
def panel(qtbot: QtBot, tmp_path: Path) -> Iterator[PromptPanel]:
    generate, cancel = QAction("Generate"), QAction("Cancel")
    widget = PromptPanel(PromptModel(PromptValues(model="m1")), TokenCounter(tmp_path / "none"), generate, cancel)
    qtbot.addWidget(widget)
    widget.show()
    yield widget


def test_the_section_is_folded_and_off_by_default(panel: PromptPanel) -> None:
    section = panel.hires_section
    assert not section.isVisible()  # with the other less used settings, under "More settings"
    panel.advanced_button.click()
    assert section.fold_button.isVisible() and not section.enable_check.isVisible()
    assert panel.model.values.to_request().hires_scale == 1.0  # no hires pass unless switched on


def test_a_hires_fix_that_is_on_stays_in_sight_with_more_settings_folded(panel: PromptPanel) -> None:
    panel.advanced_button.click()
    panel.hires_section.fold_button.click()
    panel.hires_section.enable_check.setChecked(True)
    panel.advanced_button.click()  # fold the less used settings again
    assert panel.hires_section.isVisible()


def test_editing_the_section_updates_the_request(panel: PromptPanel) -> None:
    section = panel.hires_section
    panel.advanced_button.click()
    section.fold_button.click()
    assert section.enable_check.isVisible()
    section.enable_check.setChecked(True)
    section.scale_spin.setValue(1.5)
    section.steps_spin.setValue(12)
    section.strength_spin.setValue(0.35)
    section.upscaler_combo.setCurrentText("Lanczos")
    request = panel.model.values.to_request()
    assert (request.hires_scale, request.hires_steps, request.hires_strength, request.hires_upscaler) == (
        1.5,
        12,
        0.35,
        "Lanczos",
    )
    section.upscaler_combo.setEditText("4x-UltraSharp")  # an installed model, typed by name
    assert panel.model.values.hires_upscaler == "4x-UltraSharp"


def test_reused_hires_settings_show_in_the_section(panel: PromptPanel) -> None:
    request = GenerationRequest(
        Mode.TXT2IMG,
        "castle",
        hires_scale=2.5,
        hires_steps=8,
        hires_strength=0.6,
        hires_upscaler="Latent (nearest-exact)",
    )
    panel.model.set_values(PromptValues.from_request(request, panel.model.values))
    section = panel.hires_section
    assert section.enable_check.isVisible() and section.enable_check.isChecked()
    assert (section.scale_spin.value(), section.steps_spin.value(), section.strength_spin.value()) == (2.5, 8, 0.6)
    assert section.upscaler_combo.currentText() == "Latent (nearest-exact)"
    panel.model.set_values(PromptValues.from_request(request.replace(hires_scale=1.0), panel.model.values))
    assert not section.enable_check.isChecked() and not section.scale_spin.isEnabled()


def test_the_spins_take_their_ranges_from_the_table(panel: PromptPanel) -> None:
    section = panel.hires_section
    for spin, spec in ((section.scale_spin, HIRES_SCALE), (section.steps_spin, HIRES_STEPS),
                       (section.strength_spin, HIRES_STRENGTH)):  # fmt: skip
        assert (spin.minimum(), spin.maximum()) == (spec.minimum, spec.maximum)


def test_the_section_is_only_for_text_to_image(panel: PromptPanel) -> None:
    panel.set_mode(Mode.IMG2IMG)
    assert not panel.hires_section._body.isEnabled()
    panel.set_mode(Mode.TXT2IMG)
    assert panel.hires_section._body.isEnabled()


def test_saved_values_out_of_range_are_clamped() -> None:
    values = PromptValues.from_dict(
        {"hires": True, "hires_scale": 40, "hires_strength": -1, "hires_upscaler": "Lanczos"}
    )
    assert (values.hires, values.hires_scale, values.hires_strength) == (True, HIRES_SCALE.maximum, 0.01)
