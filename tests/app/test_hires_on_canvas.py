"""A hires fix result on the canvas, with the real engine and a tiny random model: it is offered and
applied at its own (larger) size, and applying it moves the frame onto it, so the next Generate works
on the image that was made rather than on the corner the base size covers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize
from pytestqt.qtbot import QtBot

from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.app.generation import GenerationController
from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.prompt_model import PromptModel
from desktop_sd.app.qimages import qimage_to_pil
from desktop_sd.core.request import Mode


@pytest.fixture
def generation(qtbot: QtBot, tiny_model_dir: Path) -> Iterator[GenerationController]:
    import torch

    from desktop_sd.engine import Engine
    from desktop_sd.models.resolve import resolve_model
    from desktop_sd.remote.mixed import MixedBackend

    torch.set_num_threads(1)  # tiny models run faster on one thread than on two contended ones
    queue = JobQueue(lambda: MixedBackend(lambda: Engine(resolve=resolve_model, device="cpu")), preview_interval_s=0)
    controller = GenerationController(queue, CanvasDocument(QSize(64, 64)), PromptModel())
    controller.prompt.update(
        model=str(tiny_model_dir), prompt="a red fox", width=64, height=64, steps=2, seed=4, random_seed=False
    )
    controller.prompt.update(hires=True, hires_scale=2.0, hires_steps=2, hires_upscaler="Lanczos")
    try:
        yield controller
    finally:
        queue.shutdown()


def test_an_applied_hires_result_keeps_its_size_and_takes_the_frame(
    qtbot: QtBot, generation: GenerationController
) -> None:
    canvas = generation.canvas
    assert canvas.frame == QRect(0, 0, 64, 64) and canvas.mode is Mode.TXT2IMG
    with qtbot.waitSignal(generation.job_done, timeout=60_000):
        assert generation.generate() is not None
    candidate = generation.candidates.current()
    assert candidate is not None and candidate.image.size() == QSize(128, 128)
    assert candidate.frame == QRect(0, 0, 128, 128)  # offered at its own size, not squashed into 64 px
    made = qimage_to_pil(candidate.image)

    assert generation.apply_candidate()
    assert canvas.rect == QRect(0, 0, 128, 128) and canvas.frame == QRect(0, 0, 128, 128)
    image = canvas.image
    assert image is not None
    kept = qimage_to_pil(image)
    assert all(kept.getpixel((x, y)) == made.getpixel((x, y)) for x in (0, 63, 64, 127) for y in (0, 64, 127))
    values = generation.prompt.values  # the panel's size follows the frame: the next job refines this image
    assert (values.width, values.height) == (128, 128) and canvas.mode is Mode.IMG2IMG

    canvas.undo_stack.undo()  # one step takes back the image and the frame together
    assert canvas.image is None and canvas.frame == QRect(0, 0, 64, 64)
