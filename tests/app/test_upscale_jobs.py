"""Upscale jobs from the history: queued like generations, run on the worker, saved into the history
with the upscaler and factor in the metadata; the canvas image's upscale is offered over the canvas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QRect
from pytestqt.qtbot import QtBot

from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.app.generation import GenerationController
from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.prompt_model import PromptModel
from desktop_sd.app.result_saver import ResultSaver
from desktop_sd.app.upscale_jobs import UpscaleController
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.engine import Engine
from desktop_sd.engine.random_upscalers import save_tiny_upscaler
from desktop_sd.library.metadata import encode_png, read_parameters
from desktop_sd.library.store import Library
from desktop_sd.remote.mixed import MixedBackend
from tests.app.fake_backend import FakeBackend


@pytest.fixture
def setup(qtbot: QtBot, tmp_path: Path) -> Iterator[tuple[UpscaleController, GenerationController, Library]]:
    upscalers = tmp_path / "upscalers"
    save_tiny_upscaler(upscalers / "tiny-x2.pth")

    def engine() -> Engine:
        return Engine(
            resolve=lambda _n: pytest.fail("no model"), device="cpu", find_upscaler=lambda n: upscalers / f"{n}.pth"
        )

    queue = JobQueue(lambda: MixedBackend(engine), preview_interval_s=0)  # the window's backend
    library = Library.open(tmp_path / "library", reconcile=False)
    saver = ResultSaver(library)
    generation = GenerationController(queue, CanvasDocument(), PromptModel(), saver)
    try:
        yield UpscaleController(queue), generation, library
    finally:
        queue.shutdown()
        saver.shutdown()
        library.close()


def _history_image(path: Path) -> Path:
    request = GenerationRequest(Mode.TXT2IMG, "a harbour at dusk", model="m", width=40, height=32, seed=77)
    path.write_bytes(encode_png(Image.new("RGB", (40, 32), (30, 90, 160)), request, "m"))
    return path


def test_a_history_image_is_upscaled_into_the_history(qtbot: QtBot, setup, tmp_path: Path) -> None:
    controller, generation, library = setup
    queue = controller.queue
    progress: list[tuple[int, int]] = []
    queue.progress.connect(lambda _job, step, total, _preview: progress.append((step, total)))
    with qtbot.waitSignal(generation.saver.saved, timeout=30_000) as saved:  # type: ignore[union-attr]
        job_id = controller.upscale_file(_history_image(tmp_path / "in.png"), "tiny-x2", 3.0)
    assert job_id is not None
    record = saved.args[1][0]
    with Image.open(record.path) as image:
        assert image.size == (120, 96)
        assert image.info["postprocessing"] == "Postprocess upscale by: 3, Postprocess upscaler: tiny-x2"
    parsed = read_parameters(record.path)
    assert parsed is not None and parsed.prompt == "a harbour at dusk" and parsed.seed == 77
    assert progress and progress[-1] == (1, 1)  # one tile at this size
    assert generation.candidates.current() is None  # a history image's upscale is not put over the canvas
    assert library.count() == 1


def test_the_canvas_image_upscale_is_offered_at_its_new_size(qtbot: QtBot, setup) -> None:
    controller, generation, _library = setup
    with qtbot.waitSignal(generation.job_done, timeout=30_000):
        controller.upscale_image(Image.new("RGB", (40, 30), (10, 20, 30)), None, "Lanczos", 2.0, QRect(0, 0, 40, 30))
    candidate = generation.candidates.current()
    assert candidate is not None and candidate.frame == QRect(0, 0, 80, 60)


def test_bad_choices_are_refused_with_a_message(qtbot: QtBot, setup, tmp_path: Path) -> None:
    controller, _generation, _library = setup
    messages: list[str] = []
    controller.message.connect(lambda text, _level: messages.append(text))
    assert controller.upscale_image(Image.new("RGB", (8, 8)), None, "Lanczos", 20.0) is None
    assert controller.upscale_file(tmp_path / "missing.png", "Lanczos", 2.0) is None
    assert messages[0].startswith("Upscale factor must be between 1 and 8") and len(messages) == 2


def test_a_backend_that_cannot_upscale_says_so(qtbot: QtBot) -> None:
    queue = JobQueue(lambda: FakeBackend(), preview_interval_s=0)
    try:
        with qtbot.waitSignal(queue.job_failed, timeout=10_000) as failed:
            UpscaleController(queue).upscale_image(Image.new("RGB", (8, 8)), None, "Lanczos", 2.0)
        assert "ComfyUI server" in failed.args[1]
    finally:
        queue.shutdown()
