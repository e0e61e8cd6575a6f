"""The window's "Upscale…" commands: ask which upscaler and factor (and whether to refine in tiles),
then queue the job.

The job runs on the worker like a generation (progress per tile, Cancel); its result goes into
the history, and for the canvas image also appears as a candidate over the canvas. A refine takes
the prompt panel's prompt, model, steps, CFG, sampler and seed, as A1111's and InvokeAI's do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget

from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.messages import Level
from desktop_sd.app.prompt_model import PromptModel
from desktop_sd.app.qimages import qimage_to_pil
from desktop_sd.app.upscale_jobs import UpscaleController
from desktop_sd.app.upscale_refine import UpscaleChoice
from desktop_sd.core.errors import DesktopSDError
from desktop_sd.core.request import GenerationRequest
from desktop_sd.models.registry import Registry
from desktop_sd.models.upscalers import list_upscalers
from desktop_sd.ui import upscale_dialog
from desktop_sd.ui.message_area import MessageArea


def installed_upscalers() -> list[str]:
    """Names of the upscaler models in the app's folder and the linked tools' folders."""
    try:
        linked = Registry().folders()
    except (DesktopSDError, OSError):
        linked = []
    return [u.name for u in list_upscalers(linked)]


class WindowUpscale:
    def __init__(
        self,
        window: QWidget,
        queue: JobQueue,
        messages: MessageArea,
        prompt: PromptModel | None = None,
        name_of: Callable[[str], str] = str,
    ) -> None:
        """``prompt``: the prompt panel's settings a refine uses; ``name_of``: a model id's name to show."""
        self._window = window
        self.controller = UpscaleController(queue, prompt)
        self._messages = messages
        self._name_of = name_of
        self._last: UpscaleChoice | None = None  # the dialog opens with the previous choice
        self.controller.message.connect(messages.show_message)

    def _ask(self) -> UpscaleChoice | None:
        prompt = self.controller.prompt
        model = self._name_of(prompt.values.model) if prompt is not None and prompt.values.model else ""
        choice = upscale_dialog.ask_upscale(self._window, installed_upscalers(), model, self._last)
        if choice is not None:
            self._last = choice
        return choice

    def ask_and_upscale_file(self, path: Path) -> int | None:
        """Upscale a history image (the result goes to the history)."""
        choice = self._ask()
        if choice is None:
            return None
        return self.controller.upscale_file(path, choice.upscaler, choice.scale, choice.refine)

    def ask_and_upscale_canvas(self, canvas: CanvasDocument) -> int | None:
        """Upscale the canvas image; the result is offered over the canvas at its new size."""
        if canvas.image is None:
            self._messages.show_message("The canvas has no image to upscale: open or generate one first.", Level.INFO)
            return None
        image = qimage_to_pil(canvas.image)
        return self.ask_and_upscale_image(image, canvas.source, QRect(canvas.rect.topLeft(), canvas.rect.size()))

    def ask_and_upscale_image(self, image: Image.Image, source: GenerationRequest | None, frame: QRect) -> int | None:
        """Upscale the canvas image (the result goes to the history and is offered over the canvas)."""
        choice = self._ask()
        if choice is None:
            return None
        return self.controller.upscale_image(image, source, choice.upscaler, choice.scale, frame, choice.refine)
