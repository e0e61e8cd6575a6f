"""The Models dialog bound to a real manager (offscreen): catalog, downloads with progress, imports, removal."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from desktop_sd.app.model_manager import ModelManager
from desktop_sd.core.request import Family
from desktop_sd.models import sysinfo
from desktop_sd.models.transfer import human_size
from desktop_sd.ui.models_dialog import ModelsDialog
from tests.models.builders import checkpoint_bytes, folder_files, make_checkpoint, truncate
from tests.models.fakehub import FakeHub, serve


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    yield from serve(monkeypatch)


@pytest.fixture
def dialog(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelsDialog]:
    monkeypatch.setattr(sysinfo, "gpu_vram_mb", lambda timeout=3.0: None)
    manager = ModelManager()
    dialog = ModelsDialog(manager)
    qtbot.addWidget(dialog)
    dialog.show()
    yield dialog
    manager.shutdown()


def catalog_row(dialog: ModelsDialog, entry_id: str) -> int:
    table = dialog.catalog_table
    return next(r for r in range(table.rowCount()) if table.cellWidget(r, 4) is dialog.cells[entry_id])


def installed_names(dialog: ModelsDialog) -> list[str]:
    table = dialog.installed_table
    return [table.item(row, 0).text() for row in range(table.rowCount())]


def test_catalog_shows_size_licence_purpose_and_the_recommendation(dialog: ModelsDialog) -> None:
    assert dialog.tabs.currentIndex() == 1  # nothing installed: the catalog comes first
    table = dialog.catalog_table
    row = catalog_row(dialog, "sdxl-base")
    assert table.item(row, 0).text() == "Stable Diffusion XL base 1.0"
    assert table.item(row, 1).text() == "~6.9 GB"
    assert "RAIL++" in table.item(row, 2).text()
    assert "1024" in table.item(row, 3).text()
    turbo = catalog_row(dialog, "sd-turbo")
    assert "recommended" in table.item(turbo, 0).text()
    assert "SD-Turbo" in dialog.recommended_label.text()
    assert "No GPU was found" in dialog.recommended_label.text()  # why, on a computer without one
    cell = dialog.cells["sd-turbo"]
    assert cell.stack.currentWidget() is cell.download_button
    assert turbo == 0  # the recommended model first
    helpers = [catalog_row(dialog, e.id) for e in dialog.manager.catalog() if e.kind != "checkpoint"]
    checkpoints = [catalog_row(dialog, e.id) for e in dialog.manager.catalog() if e.kind == "checkpoint"]
    assert helpers and min(helpers) > max(checkpoints)  # preview decoders apart, after the models
    assert not dialog.empty_label.isHidden()  # nothing installed: the Installed tab says what to do


def test_download_buttons_are_off_while_offline(dialog: ModelsDialog) -> None:
    dialog.offline_box.setChecked(True)
    assert not dialog.cells["sd-turbo"].download_button.isEnabled() and not dialog.source_button.isEnabled()
    dialog.offline_box.setChecked(False)
    assert dialog.cells["sd-turbo"].download_button.isEnabled()


def test_download_button_shows_progress_then_installed(
    qtbot: QtBot, dialog: ModelsDialog, fake_hub: FakeHub, tiny_model_dir: Path
) -> None:
    fake_hub.add_repo("stabilityai/sd-turbo", folder_files(tiny_model_dir))
    fake_hub.faults.gate = threading.Event()
    cell = dialog.cells["sd-turbo"]
    qtbot.mouseClick(cell.download_button, Qt.MouseButton.LeftButton)
    total = sum(len(data) for data in fake_hub.repos["stabilityai/sd-turbo"].files.values())
    qtbot.waitUntil(
        lambda: cell.stack.currentIndex() == 1 and cell.bar.maximum() == 1000 and " of " in cell.bar.format()
    )
    assert cell.bar.format().endswith(f"of {human_size(total)}")
    assert "/s" in cell.detail.text() or cell.detail.text() == "waiting for data…"
    assert cell.bar.isVisible() and cell.cancel_button.isVisible()
    with qtbot.waitSignal(dialog.manager.download_finished, timeout=30_000):
        fake_hub.faults.gate.set()
    assert cell.stack.currentWidget() is cell.installed_label
    assert installed_names(dialog) == ["SD-Turbo  (default)"]
    assert "ready to use" in dialog.message.text()


def test_cancel_returns_the_row_to_download(
    qtbot: QtBot, dialog: ModelsDialog, fake_hub: FakeHub, tiny_model_dir: Path
) -> None:
    fake_hub.add_repo("stabilityai/sd-turbo", folder_files(tiny_model_dir))
    fake_hub.faults.gate = threading.Event()
    cell = dialog.cells["sd-turbo"]
    qtbot.mouseClick(cell.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cell.stack.currentIndex() == 1)
    with qtbot.waitSignal(dialog.manager.download_cancelled, timeout=30_000):
        qtbot.mouseClick(cell.cancel_button, Qt.MouseButton.LeftButton)
        fake_hub.faults.gate.set()
    assert cell.stack.currentWidget() is cell.download_button
    assert installed_names(dialog) == []
    assert "cancelled" in dialog.message.text()
    qtbot.mouseClick(dialog.clean_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == "Deleted unfinished downloads: 0 bytes freed."  # cancel already removed them


def test_other_repo_download_and_its_failure_message(qtbot: QtBot, dialog: ModelsDialog, fake_hub: FakeHub) -> None:
    fake_hub.add_repo("org/ckpts", {"model.safetensors": checkpoint_bytes(Family.SDXL)})
    dialog.source_edit.setText("org/ckpts")
    dialog.file_edit.setText("model.safetensors")
    with qtbot.waitSignal(dialog.manager.download_finished, timeout=30_000):
        qtbot.mouseClick(dialog.source_button, Qt.MouseButton.LeftButton)
    assert installed_names(dialog) == ["model.safetensors (org/ckpts)  (default)"]
    assert dialog.other_cells == {}
    dialog.source_edit.setText("org/missing")
    dialog.file_edit.clear()
    with qtbot.waitSignal(dialog.manager.download_failed, timeout=30_000):
        qtbot.mouseClick(dialog.source_button, Qt.MouseButton.LeftButton)
    assert dialog.message.isVisible() and "org/missing" in dialog.message.text()


def test_import_file_set_default_and_remove(
    qtbot: QtBot, dialog: ModelsDialog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_checkpoint(tmp_path / "First.safetensors")
    second = make_checkpoint(tmp_path / "Second.safetensors", Family.SD2, inpainting=True)
    defaults: list[str] = []
    dialog.manager.default_changed.connect(defaults.append)
    for path in (first, second):
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, p=path, **k: (str(p), ""))
        with qtbot.waitSignal(dialog.manager.import_finished, timeout=30_000):
            qtbot.mouseClick(dialog.import_file_button, Qt.MouseButton.LeftButton)
    assert installed_names(dialog) == ["First  (default)", "Second"]
    assert dialog.installed_table.item(1, 1).text() == "sd2 inpainting"
    assert dialog.tabs.currentIndex() == 0
    dialog.select("Second")
    qtbot.mouseClick(dialog.default_button, Qt.MouseButton.LeftButton)
    assert installed_names(dialog) == ["First", "Second  (default)"]
    assert defaults == ["Second"]  # the window's prompt panel takes the new default (cli.gui wires it)
    first.unlink()  # deleted behind the app's back
    dialog.manager.refresh()
    dialog.refresh()
    row = installed_names(dialog).index("First  — missing: its files were deleted or moved")
    assert dialog.installed_table.item(row, 2).text() == "—"  # no size for files that are not there
    questions: list[str] = []
    monkeypatch.setattr(dialog, "confirm", lambda text: questions.append(text) or True)
    dialog.select("Second")
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert "stay where they are" in questions[0]  # imported in place: files are not deleted
    assert installed_names(dialog)[0].startswith("First")
    assert second.exists()


def test_copied_import_and_a_damaged_file(
    qtbot: QtBot, dialog: ModelsDialog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog.copy_box.setChecked(True)
    with qtbot.waitSignal(dialog.manager.import_finished, timeout=30_000):
        dialog.import_path(make_checkpoint(tmp_path / "Copied.safetensors"))
    (model,) = dialog.manager.installed()
    assert model.owned and model.path != tmp_path / "Copied.safetensors"
    assert "delete" not in dialog.disk_label.text() and "use" in dialog.disk_label.text()
    with qtbot.waitSignal(dialog.manager.import_failed, timeout=30_000):
        dialog.import_path(truncate(make_checkpoint(tmp_path / "Cut.safetensors")))
    assert "corrupt or incomplete" in dialog.message.text()
    questions: list[str] = []
    monkeypatch.setattr(dialog, "confirm", lambda text: questions.append(text) or False)
    dialog.select(model.id)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert "delete its files" in questions[0]
    assert model.path.exists() and len(dialog.manager.installed()) == 1  # the user said no


def test_offline_checkbox_follows_and_sets_the_manager(qtbot: QtBot, dialog: ModelsDialog) -> None:
    assert not dialog.offline_box.isChecked()
    with qtbot.waitSignal(dialog.manager.offline_changed):
        dialog.offline_box.setChecked(True)
    assert dialog.manager.offline()
    dialog.manager.set_offline(False)
    assert not dialog.offline_box.isChecked()


def test_a_flux_file_without_its_text_encoders_says_so(qtbot: QtBot, dialog: ModelsDialog, tmp_path: Path) -> None:
    from desktop_sd.engine.random_flow_models import build_flux_shaped, write_flux_split
    from desktop_sd.models.registry import Registry

    transformer = write_flux_split(build_flux_shaped(seed=1), tmp_path / "models")
    alone = tmp_path / "flux1-dev.safetensors"
    transformer.rename(alone)
    Registry().add(
        id_hint="flux1-dev", name="flux1-dev", path=alone, source="file", family=Family.FLUX, inpainting=False
    )
    dialog.manager.refresh()
    dialog.refresh()
    row = next(i for i, name in enumerate(installed_names(dialog)) if name.startswith("flux1-dev"))
    assert installed_names(dialog)[row].endswith("— needs its text encoders and VAE")
    assert "CLIP-L" in dialog.installed_table.item(row, 0).toolTip()
    assert dialog.cells["flux1-dev"].stack.currentIndex() != 2  # not the catalog's FLUX.1 [dev], though named so
    for part in ("text_encoders", "vae"):  # the parts beside the file, as ComfyUI keeps them
        (tmp_path / "models" / part).rename(tmp_path / part)
    dialog.manager.refresh()
    dialog.refresh()
    assert not installed_names(dialog)[row].endswith("VAE")
