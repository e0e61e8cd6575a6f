"""Upscaling an image from the history or the canvas as a job on the worker, like a generation.

The job carries an ``UpscaleRequest`` next to the request of the image it enlarges (what the
queue shows and what the result records, as A1111's Extras keeps the source's parameters). On
the worker, ``upscale_run.run_upscale`` calls the backend's ``upscale`` and turns its result into a
``GenerationResult``, so progress (per tile), cancel, saving into the history and candidates
work as they do for generations; the upscaler and factor go into the image's metadata. With a
``RefineChoice`` the enlarged image is then refined tile by tile with the prompt panel's settings
(``app.upscale_refine``); progress then counts the refine's tiles.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, QRect, Signal

from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.messages import Level
from desktop_sd.app.prompt_model import PromptModel
from desktop_sd.app.upscale_refine import RefineChoice, refine_request
from desktop_sd.core.errors import DesktopSDError, InputError
from desktop_sd.core.images import open_image
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.upscaling import UpscaleRequest, check_upscale
from desktop_sd.library.metadata import read_parameters


class UpscaleController(QObject):
    """Queues upscale jobs; their results reach the history through the generation controller."""

    message = Signal(str, str)  # text, Level

    def __init__(self, queue: JobQueue, prompt: PromptModel | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.prompt = prompt  # where a refine's prompt, model, steps and seed come from

    def upscale_image(
        self,
        image: Image.Image,
        source: GenerationRequest | None,
        upscaler: str,
        scale: float | None,
        frame: QRect | None = None,
        refine: RefineChoice | None = None,
    ) -> int | None:
        """Queue an upscale of ``image``; ``frame`` (the canvas image's place) offers the result as a
        candidate there, else it only goes to the history. With ``refine``, the enlarged image is refined
        in tiles with the prompt panel's settings. Returns the job id, None when refused (with a message)."""
        try:
            request = self._request(image, upscaler, scale, refine)
            check_upscale(request)
        except InputError as exc:
            self.message.emit(str(exc), Level.ERROR)
            return None
        shown = source or GenerationRequest(Mode.IMG2IMG, "", width=image.width, height=image.height)
        label = f"Upscale {'×' + format(scale, 'g') if scale else ''} with {upscaler}".replace("  ", " ")
        if refine is not None:
            label += ", refined in tiles"
        return self.queue.submit(shown, label=label, frame=frame, upscale=request)

    def _request(
        self, image: Image.Image, upscaler: str, scale: float | None, refine: RefineChoice | None
    ) -> UpscaleRequest:
        if refine is None:
            return UpscaleRequest(image, upscaler, scale)
        if self.prompt is None:
            raise InputError("Refine in tiles needs the prompt panel's settings, which this window does not have.")
        tiles = refine_request(self.prompt.values, refine)
        return UpscaleRequest(
            image, upscaler, scale, refine=tiles, tile_size=refine.tile_size, tile_overlap=refine.tile_overlap
        )

    def upscale_file(
        self, path: Path, upscaler: str, scale: float | None, refine: RefineChoice | None = None
    ) -> int | None:
        """Queue an upscale of an image file (a history image), keeping its parameters in the result."""
        try:
            image, _notices = open_image(path)
        except DesktopSDError as exc:
            self.message.emit(str(exc), Level.ERROR)
            return None
        parsed = read_parameters(path)
        source = parsed.to_request() if parsed is not None else None
        return self.upscale_image(image, source, upscaler, scale, refine=refine)


def counts_tiles(queue: JobQueue) -> bool:
    """Whether the running job's progress counts tiles (an upscale job) rather than denoising steps."""
    job = queue.running()
    return job is not None and job.upscale is not None
