"""The real window with the real engine and a tiny random-weight model: prompt panel to pixels on the canvas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop_sd.cli.gui import build_window
from desktop_sd.core.request import Mode
from desktop_sd.ui import questions
from desktop_sd.ui.main_window import MainWindow

pytestmark = pytest.mark.slow


@pytest.fixture
def window(qtbot: QtBot, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    _app, win = build_window(["--model", str(tiny_model_dir)])
    win.show()
    yield win
    discard = QMessageBox.StandardButton.Discard
    monkeypatch.setattr(questions, "ask_save_discard", lambda *_a, **_k: discard)
    win.close()
    win.shutdown()
    win.deleteLater()


def test_generate_apply_inpaint_and_undo_with_the_real_engine(qtbot: QtBot, window: MainWindow) -> None:
    window.prompt.update(prompt="a small red house", steps=2, width=64, height=64, seed=3, random_seed=False)
    assert window.stack.currentWidget() is window.view
    with qtbot.waitSignal(window.queue.job_finished, timeout=120_000) as finished:
        qtbot.mouseClick(window.prompt_panel.generate_button, Qt.MouseButton.LeftButton)
    result = finished.args[1]
    assert result.images[0].size == (64, 64) and result.seeds == (3,)
    assert window.status.device_label.text().startswith("Device:")
    window.actions_.apply.trigger()
    first = window.canvas.image.copy()
    assert window.canvas.rect == QRect(0, 0, 64, 64)

    # Inpaint the left half: the right half must stay exactly as it was.
    window.canvas.begin_stroke()
    window.canvas.stroke_segment(QPointF(8, 32), QPointF(20, 32), 8, 1.0, False)
    window.canvas.end_stroke()
    assert window.canvas.mode is Mode.INPAINT
    window.prompt.update(mask_feather=2, seed=4)
    with qtbot.waitSignal(window.queue.job_finished, timeout=120_000):
        window.actions_.generate.trigger()
    window.actions_.apply.trigger()
    after = window.canvas.image
    assert all(after.pixel(x, y) == first.pixel(x, y) for x in range(40, 64) for y in range(64))
    assert any(after.pixel(x, 32) != first.pixel(x, 32) for x in range(8, 21))
    window.menus.undo.trigger()
    assert window.canvas.image.pixel(12, 32) == first.pixel(12, 32)


def test_cancel_with_the_real_engine_leaves_the_app_ready(qtbot: QtBot, window: MainWindow) -> None:
    window.prompt.update(prompt="cancel me", steps=200, width=64, height=64)
    with qtbot.waitSignal(window.queue.progress, timeout=120_000):
        window.generation.generate()
    with qtbot.waitSignal(window.queue.job_cancelled, timeout=30_000):
        window.actions_.cancel.trigger()
    assert len(window.candidates) == 0
    window.prompt.update(steps=1)
    with qtbot.waitSignal(window.queue.job_finished, timeout=120_000):
        window.generation.generate()
    assert len(window.candidates) == 1


def test_outpaint_with_the_real_engine_grows_the_canvas(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "start.png"
    Image.new("RGB", (64, 64), (30, 90, 160)).save(path)
    assert window.files.open_path(path)
    window.canvas.set_frame(QRect(-32, 0, 96, 64))
    window.prompt.update(prompt="wider", steps=2)
    with qtbot.waitSignal(window.queue.job_finished, timeout=120_000) as finished:
        window.generation.generate()
    assert finished.args[1].images[0].size == (96, 64)
    window.actions_.apply.trigger()
    assert window.canvas.rect == QRect(-32, 0, 96, 64)
    assert window.canvas.image.pixelColor(32 + 40, 30).getRgb()[:3] == (30, 90, 160)  # original pixels kept
