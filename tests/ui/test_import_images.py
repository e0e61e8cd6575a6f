"""File > Import images and drops on the History panel: progress, a summary, nothing imported twice."""

from __future__ import annotations

import threading
from pathlib import Path

from PIL import Image
from pytestqt.qtbot import QtBot

from desktop_sd.cli.gui import build_window
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.library.metadata import png_info
from desktop_sd.library.records import ImportReport
from desktop_sd.library.store import Library
from desktop_sd.ui.gallery import GalleryDock
from tests.app.fake_backend import FakeBackend


def _images(folder: Path) -> Path:
    folder.mkdir()
    made = GenerationRequest(Mode.TXT2IMG, "a harbour at dawn", seed=77, width=64, height=64)
    Image.new("RGB", (64, 64), (20, 90, 160)).save(folder / "made.png", pnginfo=png_info(made, "some-model"))
    Image.new("RGB", (48, 48), (200, 120, 40)).save(folder / "plain.jpg")
    (folder / "notes.png").write_text("not an image", encoding="utf-8")
    return folder


def test_importing_a_folder_twice_adds_each_image_once_and_says_what_happened(
    qtbot: QtBot, tmp_path: Path
) -> None:
    folder = _images(tmp_path / "from-another-tool")
    _app, window = build_window(["--library", str(tmp_path / "library")], FakeBackend)
    history = window.services.history
    try:
        assert history is not None and history.gallery is not None
        assert isinstance(window.history_dock, GalleryDock)
        with qtbot.waitSignal(history.import_finished, timeout=20_000) as finished:
            window.history_dock.import_requested.emit([str(folder)])  # what a drop on the panel does
        report = finished.args[0]
        assert isinstance(report, ImportReport) and len(report.added) == 2
        assert [path.name for path, _why in report.skipped] == ["notes.png"]
        qtbot.waitUntil(lambda: history.gallery.total() == 2)
        assert any(m.text.startswith("Imported 2 images, 1 skipped (notes.png") for m in window.messages.messages())
        assert window.history.progress is None  # the progress dialog is gone

        with qtbot.waitSignal(history.import_finished, timeout=20_000) as again:
            window.history.import_paths([folder / "made.png", folder / "plain.jpg"])
        assert len(again.args[0].added) == 0 and len(again.args[0].already) == 2
        assert any("2 already in the history" in m.text for m in window.messages.messages())
        assert history.gallery.total() == 2
        made = next(r for r in history.library.search() if r.seed == 77)
        assert made.prompt == "a harbour at dawn"
    finally:
        window.shutdown()
        window.deleteLater()


def test_a_cancelled_import_stops_before_the_next_file(tmp_path: Path) -> None:
    folder = _images(tmp_path / "images")
    cancelled = threading.Event()
    cancelled.set()
    with Library.open(tmp_path / "library") as library:
        report = library.import_files([folder], cancelled=cancelled)
        assert report.stopped and report.added == () and library.count() == 0
        assert "stopped" in report.summary()
