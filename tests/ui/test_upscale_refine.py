"""Upscale… with "Refine in tiles" in the window: the dialog, the refused cases, and the job on the real
engine with a tiny random model (progress per tile, Cancel, the result in the history at its final size)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from desktop_sd.app.qimages import pil_to_qimage
from desktop_sd.app.upscale_refine import RefineChoice, UpscaleChoice
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.library.metadata import A1111_CHUNK, read_parameters
from desktop_sd.library.store import Library
from desktop_sd.remote.mixed import server_model_id
from desktop_sd.ui import upscale_dialog
from desktop_sd.ui.main_window import MainWindow
from desktop_sd.ui.upscale_dialog import UpscaleDialog

WindowFactory = Callable[..., MainWindow]
REFINE = RefineChoice(strength=0.5, tile_size=64, tile_overlap=16)  # 96x80 in 64 px tiles sharing 16: 2 x 2


def test_the_refine_settings_wait_greyed_out_until_ticked(qtbot: QtBot) -> None:
    dialog = UpscaleDialog([], refine_model="tiny-sd")
    qtbot.addWidget(dialog)
    assert not dialog.refine_check.isChecked() and not dialog.tile_spin.isEnabled()
    assert dialog.choice() == UpscaleChoice("Lanczos", 2.0)
    assert "model (tiny-sd)" in dialog.refine_hint.text() and "prompt panel" in dialog.refine_hint.text()
    dialog.refine_check.setChecked(True)
    assert dialog.strength_spin.isEnabled() and dialog.overlap_spin.isEnabled()
    dialog.tile_spin.setValue(64)
    dialog.overlap_spin.setValue(200)  # neighbouring tiles may share less than half a tile
    dialog.strength_spin.setValue(0.5)
    assert dialog.choice() == UpscaleChoice("Lanczos", 2.0, RefineChoice(0.5, 64, 24))
    size = dialog.sizeHint()
    assert max(size.width(), dialog.minimumWidth()) <= 1024 and size.height() <= 700  # fits a small window


def test_the_dialog_opens_with_the_last_choice_and_says_when_no_model_is_chosen(qtbot: QtBot) -> None:
    dialog = UpscaleDialog(["tiny-x2"], refine_model="", last=UpscaleChoice("Lanczos", 3.0, REFINE))
    qtbot.addWidget(dialog)
    assert dialog.choice() == UpscaleChoice("Lanczos", 3.0, REFINE)
    assert dialog.refine_hint.text().startswith("Choose a model in the prompt panel first")


def _canvas_image(window: MainWindow) -> None:
    image = Image.linear_gradient("L").convert("RGB").resize((48, 40))
    source = GenerationRequest(Mode.TXT2IMG, "a lighthouse", width=48, height=40, seed=9)
    window.canvas.set_image(pil_to_qimage(image), "lighthouse", source)


def test_a_refine_without_a_local_model_is_refused_with_a_message(
    make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(with_model=False)
    _canvas_image(window)
    shown: list[str] = []
    window.history.upscaling.controller.message.connect(lambda text, _level: shown.append(text))
    monkeypatch.setattr(upscale_dialog, "ask_upscale", lambda *_a: UpscaleChoice("Lanczos", 2.0, REFINE))
    window.prompt.update(model="")
    window.actions_.upscale.trigger()
    assert shown[-1] == "Refine in tiles uses the prompt panel's model: choose a model there first."
    window.prompt.update(model=server_model_id("gpu-box", "sdxl.safetensors"))
    window.actions_.upscale.trigger()
    assert "sdxl.safetensors is a checkpoint of the server gpu-box" in shown[-1]
    assert "Choose a local model" in shown[-1]
    assert window.queue.jobs() == []


@pytest.fixture
def engine_window(
    make_window: WindowFactory, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MainWindow, Library]]:
    """The window on the real engine (as the app builds it) with a tiny model chosen and a library."""
    import torch

    from desktop_sd.engine import Engine
    from desktop_sd.models.resolve import resolve_model
    from desktop_sd.remote.mixed import MixedBackend

    torch.set_num_threads(1)  # tiny models run faster on one thread than on two contended ones
    library = Library.open(tmp_path / "library", reconcile=False)
    backend = MixedBackend(lambda: Engine(resolve=resolve_model, device="cpu"))
    window = make_window(backend=backend, store=library)
    window.prompt.update(model=str(tiny_model_dir), prompt="a lighthouse, detailed", steps=2, seed=3, random_seed=False)
    _canvas_image(window)
    monkeypatch.setattr(upscale_dialog, "ask_upscale", lambda *_a: UpscaleChoice("Lanczos", 2.0, REFINE))
    try:
        yield window, library
    finally:
        window.shutdown()
        library.close()


def test_the_refined_upscale_reaches_the_history_at_its_final_size(
    qtbot: QtBot, engine_window: tuple[MainWindow, Library]
) -> None:
    window, library = engine_window
    bar: list[str] = []
    between: list[int] = []  # the bar's range while a tile after the first runs (0 = busy, no count)
    window.generation.job_progress.connect(lambda *_a: bar.append(window.status.progress.format()))
    window.generation.job_phase.connect(lambda *_a: bar and between.append(window.status.progress.maximum()))
    saver = window.generation.saver
    assert saver is not None
    with qtbot.waitSignal(saver.saved, timeout=60_000) as saved:
        window.actions_.upscale.trigger()
    assert bar == ["Tile 1/4", "Tile 2/4", "Tile 3/4", "Tile 4/4"]  # the status bar counted the refine's tiles
    assert between and set(between) == {4}  # the steps inside a tile did not turn the bar into a busy one
    record = saved.args[1][0]
    assert (record.width, record.height) == (96, 80) and library.count() == 1
    with Image.open(record.path) as image:
        assert image.size == (96, 80)
        parameters = image.info[A1111_CHUNK]
        assert image.info["postprocessing"] == (
            "Postprocess upscale by: 2, Postprocess upscaler: Lanczos, Tiled refine tiles: 4"
        )
    assert "Size: 96x80" in parameters and "Denoising strength: 0.5" in parameters and "Seed: 3" in parameters
    parsed = read_parameters(record.path)
    assert parsed is not None and parsed.prompt == "a lighthouse, detailed"
    request = parsed.to_request()
    assert (request.width, request.height, request.mode, request.steps) == (96, 80, Mode.IMG2IMG, 2)
    candidate = window.candidates.current()  # the canvas image's upscale is offered over the canvas
    assert candidate is not None and candidate.frame == QRect(0, 0, 96, 80)


def test_cancel_during_the_refine_leaves_no_half_image(qtbot: QtBot, engine_window: tuple[MainWindow, Library]) -> None:
    window, library = engine_window
    window.prompt.update(steps=30)  # long enough per tile for the cancel to land inside one
    tiles: list[int] = []

    def on_progress(_job: int, step: int, _total: int, _preview: QImage) -> None:
        tiles.append(step)
        if step == 1:
            window.actions_.cancel.trigger()

    window.queue.progress.connect(on_progress)
    with qtbot.waitSignal(window.queue.job_cancelled, timeout=60_000):
        window.actions_.upscale.trigger()
    assert tiles and max(tiles) < 4  # stopped inside a tile's steps, before the last tile
    qtbot.waitUntil(lambda: not window.generation.is_running())
    assert library.count() == 0 and window.candidates.current() is None
    assert window.canvas.image is not None and window.canvas.image.size().width() == 48  # the canvas as it was
