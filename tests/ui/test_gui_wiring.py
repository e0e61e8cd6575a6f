"""``cli.gui``: the window built from the command line, torch kept off the start-up path."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from desktop_sd.app.messages import Level
from desktop_sd.cli import gui, main
from desktop_sd.cli.gui import build_window
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.settings import Settings
from desktop_sd.library.image_records import DB_NAME
from desktop_sd.library.store import Library
from desktop_sd.ui.gallery import GalleryDock
from tests.app.fake_backend import FakeBackend

ROOT = Path(__file__).resolve().parents[2]


def test_the_gui_module_and_a_built_window_import_no_torch() -> None:
    code = (
        "import sys\n"
        "from desktop_sd.cli.gui import build_window\n"
        "app, window = build_window([])\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "window.shutdown()\n"
        "assert not heavy, heavy\n"
        "print(window.windowTitle())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert "Desktop SD" in result.stdout


def test_build_window_wires_the_arguments(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model_index.json").write_text("{}", encoding="utf-8")
    image = tmp_path / "start.png"
    Image.new("RGB", (80, 48)).save(image)
    made_on: list[str] = []
    backend = FakeBackend()

    def factory() -> FakeBackend:
        made_on.append(threading.current_thread().name)
        return backend

    _app, window = build_window(
        ["--model", str(model), "--model", str(tmp_path / "missing.safetensors"), str(image)], backend_factory=factory
    )
    try:
        assert not window.isVisible()
        assert window.models.find(str(model.resolve())) is not None
        assert window.canvas.title == "start.png" and window.canvas.rect.width() == 80
        errors = [m.text for m in window.messages.messages() if m.level is Level.ERROR]
        assert any("missing.safetensors" in e or "not found" in e for e in errors)
        assert made_on == []  # the backend is made on the worker thread at the first job only
        window.prompt.update(prompt="x", steps=1)
        with qtbot.waitSignal(window.queue.job_finished, timeout=10_000):
            window.generation.generate()
        assert made_on and made_on[0] != threading.main_thread().name
    finally:
        window.shutdown()
        window.deleteLater()


def test_history_errors_appear_above_the_canvas_without_blocking(qtbot: QtBot) -> None:
    _app, window = build_window([], backend_factory=FakeBackend)
    try:
        dock = window.history_dock
        assert isinstance(dock, GalleryDock)
        dock.dialogs.error(dock, "The file x.png is missing; its parameters can still be reused.")
        errors = [m.text for m in window.messages.messages() if m.level is Level.ERROR]
        assert any("x.png is missing" in e for e in errors)
    finally:
        window.shutdown()
        window.deleteLater()


def test_switching_the_library_moves_saving_and_the_gallery_and_closes_the_old_one(
    qtbot: QtBot, tmp_path: Path, fake_model_dir: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _app, window = build_window(["--model", str(fake_model_dir), "--library", str(first)], FakeBackend)
    history = window.services.history
    try:
        assert history is not None and history.gallery is not None
        old = history.library
        assert old is not None and old.folder == first
        assert history.switch_to(second) is None
        assert old.closed
        window.prompt.update(prompt="a lighthouse", steps=1, width=64, height=64)
        with qtbot.waitSignal(history.saver.saved, timeout=10_000):
            window.generation.generate()
        qtbot.waitUntil(lambda: history.gallery is not None and history.gallery.total() == 1, timeout=10_000)
        assert window.history_dock.model is history.gallery  # type: ignore[attr-defined]
        assert history.gallery.library.folder == second
        assert list(second.rglob("*.png")) and not list(first.rglob("*.png"))
    finally:
        window.shutdown()
        window.deleteLater()



def test_set_as_default_in_the_model_manager_also_chooses_it_in_the_prompt_panel(fake_model_dir: Path) -> None:
    _app, window = build_window(["--model", str(fake_model_dir)], FakeBackend)
    try:
        manager = window.services.model_manager
        assert manager is not None
        manager.default_changed.emit("some-installed-model")
        assert window.prompt.values.model == "some-installed-model"
    finally:
        window.shutdown()
        window.deleteLater()


def test_a_damaged_history_offers_to_rebuild_it_from_the_images(qtbot: QtBot, tmp_path: Path) -> None:
    folder = tmp_path / "library"
    with Library.open(folder) as library:
        library.add(
            Image.new("RGB", (64, 64)), GenerationRequest(mode=Mode.TXT2IMG, prompt="a fox", width=64, height=64), "m"
        )
    (folder / DB_NAME).write_bytes(b"not a database" * 500)
    _app, window = build_window(["--library", str(folder)], FakeBackend)
    history = window.services.history
    try:
        assert history is not None
        banner = next(m for m in window.messages.messages() if "is damaged" in m.text)
        assert [b.text() for b in banner.buttons] == ["Rebuild history", "Choose folder…"]
        with qtbot.waitSignal(history.rebuild_finished, timeout=20_000):
            banner.buttons[0].click()
        assert any(m.text == "The history was rebuilt from 1 image." for m in window.messages.messages())
        assert history.library is not None and history.library.search()[0].prompt == "a fox"
    finally:
        window.shutdown()
        window.deleteLater()


def test_a_damaged_settings_file_is_reported_in_the_window(
    qtbot: QtBot, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_file = isolated_home / "config" / "settings.json"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text("[" * 100_000, encoding="utf-8")
    shown: list[str] = []

    def run_gui(argv: list[str], settings: Settings | None = None) -> int:
        _app, window = build_window(argv, FakeBackend, settings)
        shown.extend(m.text for m in window.messages.messages() if m.level is Level.WARNING)
        window.shutdown()
        window.deleteLater()
        return 0

    monkeypatch.setattr(gui, "run_gui", run_gui)
    assert main([]) == 0
    assert len(shown) == 1 and "settings file could not be read" in shown[0] and "moved to" in shown[0]


def test_a_damaged_models_registry_is_reported_in_the_window(qtbot: QtBot, isolated_home: Path) -> None:
    registry_file = isolated_home / "data" / "models" / "registry.json"
    registry_file.parent.mkdir(parents=True)
    registry_file.write_text('{"models": [{"id": "x"}]}', encoding="utf-8")
    _app, window = build_window([], FakeBackend)
    try:
        warnings = [m.text for m in window.messages.messages() if m.level is Level.WARNING]
        assert len([w for w in warnings if "The models registry" in w]) == 1
    finally:
        window.shutdown()
        window.deleteLater()
