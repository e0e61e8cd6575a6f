"""The Models dialog's Upscalers tab: installed upscalers, the catalog with licences, download and import."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop_sd.app.upscaler_manager import UpscalerManager
from desktop_sd.models import upscalers
from desktop_sd.models.upscalers import CatalogUpscaler
from desktop_sd.ui.upscalers_tab import UpscalersTab
from tests.models.fakehub import FakeHub, serve


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    yield from serve(monkeypatch)


@pytest.fixture
def tab(qtbot: QtBot, tmp_path: Path) -> Iterator[UpscalersTab]:
    linked = tmp_path / "ComfyUI"
    (linked / "models" / "upscale_models").mkdir(parents=True)
    (linked / "models" / "upscale_models" / "4x-Foolhardy.pth").write_bytes(b"x")
    manager = UpscalerManager(linked=lambda: [linked])
    widget = UpscalersTab(manager)
    qtbot.addWidget(widget)
    yield widget
    manager.shutdown()


def _rows(tree: object) -> list[list[str]]:
    from PySide6.QtWidgets import QTreeWidget

    assert isinstance(tree, QTreeWidget)
    return [[tree.topLevelItem(i).text(c) for c in range(tree.columnCount())] for i in range(tree.topLevelItemCount())]


def test_linked_upscalers_and_the_catalog_are_listed(tab: UpscalersTab) -> None:
    assert [row[:2] for row in _rows(tab.installed_list)] == [["4x-Foolhardy", "linked folder"]]
    catalog = _rows(tab.catalog_list)
    assert [row[3] for row in catalog] == ["BSD-3-Clause", "BSD-3-Clause"]
    assert catalog[0][4].startswith("Real-ESRGAN x4plus:") and catalog[1][4].startswith("Real-ESRGAN x4plus anime:")
    assert all(button.text() == "Download" for button in tab.download_buttons.values())


def test_a_download_lands_in_the_installed_list(qtbot: QtBot, tab: UpscalersTab, fake_hub: FakeHub) -> None:
    data = b"\x01" * 20_000
    url = fake_hub.add_url("4x-Served.pth", data)
    entry = CatalogUpscaler("served", "Served", url, "4x-Served.pth", 4, len(data), "MIT", "", "a test upscaler")
    with qtbot.waitSignal(tab.manager.download_finished, timeout=10_000):
        tab.manager.download(entry)
    assert (upscalers.upscalers_dir() / "4x-Served.pth").read_bytes() == data
    assert ["4x-Served", "Desktop SD"] in [row[:2] for row in _rows(tab.installed_list)]


def test_import_copies_the_file_and_a_wrong_file_is_explained(qtbot: QtBot, tab: UpscalersTab, tmp_path: Path) -> None:
    source = tmp_path / "2x-Mine.safetensors"
    source.write_bytes(b"weights")
    with qtbot.waitSignal(tab.manager.changed, timeout=10_000):
        tab.manager.import_file(source)
    assert ["2x-Mine", "Desktop SD"] in [row[:2] for row in _rows(tab.installed_list)]
    with qtbot.waitSignal(tab.manager.import_failed, timeout=10_000):
        tab.manager.import_file(tmp_path / "notes.txt")
    assert ".pth or .safetensors" in tab.status.text()
