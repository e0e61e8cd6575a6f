"""The prompt panel offers only the samplers the chosen model's family runs, names Flux's guidance, and
greys out what SD 3 / Flux do not use (a separate VAE, clip skip)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QListView
from pytestqt.qtbot import QtBot

from desktop_sd.app.model_choices import ModelChoice
from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.app.tokens import TokenCounter
from desktop_sd.core.params import CFG_SCALE
from desktop_sd.core.request import Family
from desktop_sd.models.addons import AddonFile, AddonKind
from desktop_sd.ui.prompt_panel import PromptPanel

CHOICES = [
    ModelChoice("xl", "Model XL", Family.SDXL),
    ModelChoice("sd35", "SD 3.5 Medium", Family.SD3),
    ModelChoice("flux", "FLUX.1 dev", Family.FLUX),
]


@pytest.fixture
def panel(qtbot: QtBot, tmp_path: Path) -> Iterator[PromptPanel]:
    generate, cancel = QAction("Generate"), QAction("Cancel")
    widget = PromptPanel(PromptModel(PromptValues(model="xl")), TokenCounter(tmp_path / "none"), generate, cancel)
    widget.set_models(CHOICES)
    widget.actions_ = (generate, cancel)  # type: ignore[attr-defined]
    qtbot.addWidget(widget)
    yield widget


def shown_samplers(panel: PromptPanel) -> list[str]:
    view = panel.scheduler_combo.view()
    assert isinstance(view, QListView)
    combo = panel.scheduler_combo
    return [combo.itemData(row) for row in range(combo.count()) if not view.isRowHidden(row)]


def cfg_label(panel: PromptPanel) -> str:
    label = panel._form.labelForField(panel.cfg_spin)
    assert isinstance(label, QLabel)
    return label.text()


def test_flow_models_show_only_flow_matching_samplers(panel: PromptPanel) -> None:
    combo = panel.scheduler_combo
    combo.setCurrentIndex(combo.findData("dpmpp_2m_karras"))
    assert panel.model.values.scheduler == "dpmpp_2m_karras" and len(shown_samplers(panel)) == combo.count()

    panel.model.update(model="sd35")
    assert shown_samplers(panel) == ["default", "euler"]
    # the sampler chosen for SDXL cannot run SD 3: the panel falls back to the model's own
    assert panel.model.values.scheduler == "default" and combo.currentData() == "default"
    assert cfg_label(panel) == "CFG scale"

    panel.model.update(model="flux", scheduler="euler")
    assert shown_samplers(panel) == ["default", "euler"] and panel.model.values.scheduler == "euler"
    assert cfg_label(panel) == "Guidance"

    panel.model.update(model="xl")
    assert len(shown_samplers(panel)) == combo.count() and cfg_label(panel) == "CFG scale"
    assert panel.cfg_spin.toolTip() == CFG_SCALE.tooltip


def test_flow_models_grey_out_the_vae_and_clip_skip_and_drop_a_separate_vae(panel: PromptPanel, tmp_path: Path) -> None:
    vae = AddonFile("ft-mse", tmp_path / "ft-mse.safetensors", AddonKind.VAE, Family.SDXL)
    panel.set_addons([], [vae])
    panel.model.update(vae="ft-mse", clip_skip=2)
    tips = (panel.vae_combo.toolTip(), panel.clip_skip_spin.toolTip())
    assert panel.vae_combo.isEnabled() and panel.clip_skip_spin.isEnabled()

    panel.model.update(model="flux")
    assert not panel.vae_combo.isEnabled() and not panel.clip_skip_spin.isEnabled()
    assert "own VAE" in panel.vae_combo.toolTip()
    assert panel.model.values.vae == "" and panel.vae_combo.currentData() == ""  # the engine would refuse it

    panel.model.update(model="xl")
    assert panel.vae_combo.isEnabled() and panel.clip_skip_spin.isEnabled()
    assert (panel.vae_combo.toolTip(), panel.clip_skip_spin.toolTip()) == tips
    assert panel.model.values.clip_skip == 2  # kept for the families that read it


def test_flux_greys_out_the_negative_prompt_and_keeps_its_text(panel: PromptPanel) -> None:
    panel.model.update(negative_prompt="blurry, lowres")
    panel.model.update(model="flux")
    assert not panel.negative_edit.isEnabled() and "no negative prompt" in panel.negative_edit.placeholderText()
    assert panel.negative_tokens.isHidden()
    panel.model.update(model="sd35")  # SD 3 reads one
    assert panel.negative_edit.isEnabled() and panel.negative_edit.toPlainText() == "blurry, lowres"
    assert not panel.negative_tokens.isHidden()


def test_picking_a_model_sets_its_recommended_steps_and_cfg(qtbot: QtBot, panel: PromptPanel) -> None:
    turbo = ModelChoice("sd-turbo", "SD-Turbo", Family.SD2, steps=1, cfg_scale=0.0)
    panel.set_models([*CHOICES, turbo])
    panel.model.update(steps=30, cfg_scale=7.5)
    combo = panel.model_combo
    with qtbot.waitSignal(panel.info) as said:
        combo.setCurrentIndex(combo.findData("sd-turbo"))  # as the user picks it
    assert (panel.model.values.model, panel.model.values.steps, panel.model.values.cfg_scale) == ("sd-turbo", 1, 0.0)
    assert said.args == ["SD-Turbo: its recommended 1 step and CFG 0 are set"]
    combo.setCurrentIndex(combo.findData("xl"))  # no recommendation known: the settings stay
    assert (panel.model.values.steps, panel.model.values.cfg_scale) == (1, 0.0)
    # reusing an image's parameters keeps its own steps, whatever its model recommends
    panel.model.set_values(dataclasses.replace(panel.model.values, model="sd-turbo", steps=4, cfg_scale=1.0))
    assert (panel.model.values.steps, panel.model.values.cfg_scale) == (4, 1.0)
