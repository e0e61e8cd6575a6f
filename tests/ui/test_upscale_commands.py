"""The "Upscale…" dialog and the window command that queues an upscale of a history image."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.upscale_refine import UpscaleChoice
from desktop_sd.core.upscaling import UPSCALE_SCALE
from desktop_sd.models import upscalers
from desktop_sd.ui import upscale_dialog
from desktop_sd.ui.message_area import MessageArea
from desktop_sd.ui.upscale_dialog import UpscaleDialog
from desktop_sd.ui.window_upscale import WindowUpscale, installed_upscalers
from tests.app.fake_backend import FakeBackend


def test_the_dialog_offers_installed_models_first_then_the_resamplers(qtbot: QtBot) -> None:
    dialog = UpscaleDialog(["RealESRGAN_x4plus"])
    qtbot.addWidget(dialog)
    items = [dialog.upscaler_combo.itemText(i) for i in range(dialog.upscaler_combo.count())]
    assert items == ["RealESRGAN_x4plus", "Lanczos", "Nearest"]
    assert dialog.choice() == UpscaleChoice("RealESRGAN_x4plus", UPSCALE_SCALE.default)
    dialog.upscaler_combo.setCurrentText("Lanczos")
    dialog.scale_spin.setValue(1.5)
    assert dialog.choice() == UpscaleChoice("Lanczos", 1.5)


def test_installed_upscalers_are_listed_by_name() -> None:
    folder = upscalers.upscalers_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "4x-UltraSharp.pth").write_bytes(b"x")
    assert installed_upscalers() == ["4x-UltraSharp"]


def test_upscale_of_a_history_image_queues_a_job_with_the_choice(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "in.png"
    Image.new("RGB", (16, 16)).save(path)
    backend = FakeBackend(gated=True)
    queue = JobQueue(lambda: backend, preview_interval_s=0)
    area = MessageArea()
    qtbot.addWidget(area)
    try:
        window = WindowUpscale(area, queue, area)
        monkeypatch.setattr(upscale_dialog, "ask_upscale", lambda *_a: None)
        assert window.ask_and_upscale_file(path) is None and queue.jobs() == []
        monkeypatch.setattr(upscale_dialog, "ask_upscale", lambda *_a: UpscaleChoice("Lanczos", 2.0))
        with qtbot.waitSignal(queue.job_failed, timeout=10_000):  # the fake backend cannot upscale
            job_id = window.ask_and_upscale_file(path)
            job = queue.job(job_id or -1)
            assert job is not None and job.upscale is not None
            assert (job.upscale.upscaler, job.upscale.scale, job.upscale.image.size) == ("Lanczos", 2.0, (16, 16))
    finally:
        queue.shutdown()


def test_upscale_of_the_canvas_image_keeps_its_place_and_source(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QRect, QSize
    from PySide6.QtGui import QImage

    from desktop_sd.app.canvas_document import CanvasDocument
    from desktop_sd.core.request import GenerationRequest, Mode

    backend = FakeBackend(gated=True)
    queue = JobQueue(lambda: backend, preview_interval_s=0)
    area = MessageArea()
    qtbot.addWidget(area)
    shown: list[str] = []
    monkeypatch.setattr(area, "show_message", lambda text, *_a, **_k: shown.append(text))
    try:
        window = WindowUpscale(area, queue, area)
        monkeypatch.setattr(upscale_dialog, "ask_upscale", lambda *_a: UpscaleChoice("Lanczos", 2.0))
        canvas = CanvasDocument(QSize(64, 48))
        assert window.ask_and_upscale_canvas(canvas) is None and "no image to upscale" in shown[0]
        image = QImage(64, 48, QImage.Format.Format_RGB32)
        image.fill(0x336699)
        source = GenerationRequest(Mode.TXT2IMG, "a boat", seed=5)
        canvas.set_image(image, "boat", source)
        with qtbot.waitSignal(queue.job_failed, timeout=10_000):
            job = queue.job(window.ask_and_upscale_canvas(canvas) or -1)
            assert job is not None and job.upscale is not None and job.frame == QRect(0, 0, 64, 48)
            assert job.request.prompt == "a boat" and job.upscale.image.getpixel((0, 0)) == (0x33, 0x66, 0x99)
    finally:
        queue.shutdown()


def test_the_queue_describes_an_upscale_job_by_its_image() -> None:
    from desktop_sd.app.jobs import Job
    from desktop_sd.app.queue_model import describe_job
    from desktop_sd.core.request import GenerationRequest, Mode
    from desktop_sd.core.upscaling import UpscaleRequest

    job = Job(
        1,
        GenerationRequest(Mode.IMG2IMG, ""),
        "Upscale ×2 with Lanczos",
        upscale=UpscaleRequest(Image.new("RGB", (40, 30)), "Lanczos", 2.0),
    )
    assert describe_job(job) == "Upscale ×2 with Lanczos  ·  40×30"
