"""The LoRA picker, the VAE chooser and the Models window's add-ons tab, bound to real files and models."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop_sd.app.addon_list import AddonList
from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.core import paths
from desktop_sd.core.request import Family
from desktop_sd.models.addons import AddonKind
from desktop_sd.ui.addons_tab import AddonsTab
from desktop_sd.ui.lora_picker import LoraPicker
from desktop_sd.ui.vae_combo import OWN, VaeCombo
from tests.models import addon_files


@pytest.fixture
def addons() -> AddonList:
    loras = paths.models_dir() / "loras"
    addon_files.kohya_lora(loras / "detail.safetensors", "sd1", tags={"sharp focus": 4, "crisp": 1})
    addon_files.kohya_lora(loras / "anime.safetensors", "sd1")
    addon_files.kohya_lora(loras / "xl-only.safetensors", "sdxl")
    addon_files.vae(paths.models_dir() / "vae" / "ft-mse.safetensors")
    return AddonList()


def make_picker(qtbot: QtBot, addons: AddonList, family: Family = Family.SD1) -> tuple[LoraPicker, PromptModel]:
    model = PromptModel(PromptValues(prompt="a fox", model="m"))
    picker = LoraPicker(model, lambda _model_id: family)
    qtbot.addWidget(picker)
    picker.set_addons(addons.items(AddonKind.LORA))
    picker.show()
    return picker, model


def test_picker_switches_loras_on_with_their_weights(qtbot: QtBot, addons: AddonList) -> None:
    picker, model = make_picker(qtbot, addons)
    assert not picker.body.isVisible()  # folded by default: the panel stays short
    picker.toggle.click()
    assert picker.body.isVisible()
    assert [row.addon.name for row in picker.rows] == ["anime", "detail"]  # the SDXL LoRA is not offered
    detail = picker.rows[1]
    detail.check.click()
    detail.slider.setValue(65)
    assert model.values.loras == (("detail", 0.65),)
    assert picker.toggle.text() == "LoRAs (1 on)"
    assert model.values.to_request().loras == (("detail", 0.65),)
    detail.words_button.click()
    assert model.values.prompt == "a fox, sharp focus, crisp"
    picker.search.setText("anim")
    assert not detail.isVisible() and picker.rows[0].isVisible()
    # the model drives the widgets too (reuse parameters, a project opened)
    model.set_values(PromptValues(prompt="x", model="m", loras=(("anime", -0.5),)))
    assert picker.rows[0].check.isChecked() and picker.rows[0].weight == -0.5
    assert not detail.check.isChecked()


def test_picker_offers_the_loras_of_the_chosen_models_family(qtbot: QtBot, addons: AddonList) -> None:
    picker, _ = make_picker(qtbot, addons, Family.SDXL)
    assert [row.addon.name for row in picker.rows] == ["xl-only"]


def test_vae_chooser(qtbot: QtBot, addons: AddonList) -> None:
    model = PromptModel(PromptValues())
    combo = VaeCombo(model)
    qtbot.addWidget(combo)
    combo.set_vaes(addons.items(AddonKind.VAE))
    assert [combo.itemText(i) for i in range(combo.count())] == [OWN, "ft-mse"]
    combo.setCurrentIndex(1)
    assert model.values.vae == "ft-mse" and model.values.to_request().vae == "ft-mse"
    model.update(vae="")
    assert combo.currentText() == OWN


def test_addons_tab_lists_imports_and_removes(
    qtbot: QtBot, addons: AddonList, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tab = AddonsTab(addons)
    qtbot.addWidget(tab)
    groups = [tab.tree.topLevelItem(i).text(0) for i in range(tab.tree.topLevelItemCount())]
    assert groups == ["LoRAs (3)", "Embeddings (0)", "VAEs (1)"]
    assert tab.tree.topLevelItem(0).child(2).text(1) == "SDXL"
    tab.import_path(addon_files.embedding(tmp_path / "bad-hands.safetensors"))
    assert tab.tree.topLevelItem(1).text(0) == "Embeddings (1)"
    assert tab.selected() is not None and tab.selected().name == "bad-hands"
    assert "imported (embedding, SD 1.x)" in tab.message.text()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    tab.remove_selected()
    assert tab.tree.topLevelItem(1).text(0) == "Embeddings (0)"
    assert not (paths.models_dir() / "embeddings" / "bad-hands.safetensors").exists()
    tab.import_path(tmp_path / "nothing.safetensors")
    assert "nothing.safetensors is not a LoRA, embedding or VAE file" in tab.message.text()


def test_picker_offers_flux_loras_for_a_flux_model_only(qtbot: QtBot, addons: AddonList) -> None:
    loras = paths.models_dir() / "loras"
    addon_files.flow_lora(loras / "flux-film.safetensors", "flux-kohya")
    addon_files.flow_lora(loras / "sd35-ink.safetensors", "sd35-large-peft")
    addons.refresh()
    flux_picker, _ = make_picker(qtbot, addons, Family.FLUX)
    assert [row.addon.name for row in flux_picker.rows] == ["flux-film"]
    sd3_picker, _ = make_picker(qtbot, addons, Family.SD3)
    assert [row.addon.name for row in sd3_picker.rows] == ["sd35-ink"]
    xl_picker, _ = make_picker(qtbot, addons, Family.SDXL)
    assert [row.addon.name for row in xl_picker.rows] == ["xl-only"]
