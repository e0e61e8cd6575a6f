"""Upscaling an image from the history or the canvas as a job on the worker, like a generation.

The job carries an ``UpscaleRequest`` next to the request of the image it enlarges (what the
queue shows and what the result records, as A1111's Extras keeps the source's parameters). On
the worker, ``upscale_run.run_upscale`` calls the backend's ``upscale`` and turns its result into a
``GenerationResult``, so progress (per tile), cancel, saving into the history and candidates
work as they do for generations; the upscaler and factor go into the image's metadata.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, QRect, Signal

from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.messages import Level
from desktop_sd.core.errors import DesktopSDError, InputError
from desktop_sd.core.images import open_image
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.upscaling import UpscaleRequest, check_upscale
from desktop_sd.library.metadata import read_parameters


class UpscaleController(QObject):
    """Queues upscale jobs; their results reach the history through the generation controller."""

    message = Signal(str, str)  # text, Level

    def __init__(self, queue: JobQueue, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue = queue

    def upscale_image(
        self,
        image: Image.Image,
        source: GenerationRequest | None,
        upscaler: str,
        scale: float | None,
        frame: QRect | None = None,
    ) -> int | None:
        """Queue an upscale of ``image``; ``frame`` (the canvas image's place) offers the result as a
        candidate there, else it only goes to the history. Returns the job id, None when refused."""
        request = UpscaleRequest(image, upscaler, scale)
        try:
            check_upscale(request)
        except InputError as exc:
            self.message.emit(str(exc), Level.ERROR)
            return None
        shown = source or GenerationRequest(Mode.IMG2IMG, "", width=image.width, height=image.height)
        label = f"Upscale {'×' + format(scale, 'g') if scale else ''} with {upscaler}".replace("  ", " ")
        return self.queue.submit(shown, label=label, frame=frame, upscale=request)

    def upscale_file(self, path: Path, upscaler: str, scale: float | None) -> int | None:
        """Queue an upscale of an image file (a history image), keeping its parameters in the result."""
        try:
            image, _notices = open_image(path)
        except DesktopSDError as exc:
            self.message.emit(str(exc), Level.ERROR)
            return None
        parsed = read_parameters(path)
        source = parsed.to_request() if parsed is not None else None
        return self.upscale_image(image, source, upscaler, scale)
