"""Generated images waiting over the canvas to be applied or discarded.

Each candidate remembers the frame it was made for, so it lands where it was
generated even if the frame has moved since.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QRect, Signal
from PySide6.QtGui import QImage

from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.app.qimages import pil_to_qimage
from desktop_sd.core.request import GenerationRequest, GenerationResult


@dataclass(frozen=True, eq=False)
class Candidate:
    image: QImage
    frame: QRect
    request: GenerationRequest | None  # with this image's own seed; None for an image of unknown origin
    model_id: str
    takes_frame: bool = False  # applying it makes the canvas frame its frame (a hires fix result)


class Candidates(QObject):
    changed = Signal()  # the list or the current index

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[Candidate] = []
        self._index = -1

    def __len__(self) -> int:
        return len(self._items)

    @property
    def index(self) -> int:
        return self._index

    def current(self) -> Candidate | None:
        return self._items[self._index] if 0 <= self._index < len(self._items) else None

    def add_result(self, result: GenerationResult, frame: QRect, takes_frame: bool = False) -> None:
        """Append every image of ``result``; the first of them becomes current. ``takes_frame``: applying
        one also moves the canvas frame onto it (a hires fix result, larger than the frame it was made in)."""
        if not result.images:
            return
        first = len(self._items)
        for i, image in enumerate(result.images):
            seed = result.seeds[i] if i < len(result.seeds) else result.request.seed
            self._items.append(
                Candidate(
                    pil_to_qimage(image), QRect(frame), result.request.replace(seed=seed), result.model_id, takes_frame
                )
            )
        self._index = first
        self.changed.emit()

    def add_image(self, image: QImage, frame: QRect, request: GenerationRequest | None, model_id: str = "") -> None:
        """Offer an existing image (from the history) for the frame."""
        self._items.append(Candidate(image, QRect(frame), request, model_id))
        self._index = len(self._items) - 1
        self.changed.emit()

    def step(self, delta: int) -> None:
        if self._items:
            self._index = (self._index + delta) % len(self._items)
            self.changed.emit()

    def apply(self, document: CanvasDocument) -> bool:
        """Apply the current candidate to ``document`` (undoable) and clear the rest."""
        candidate = self.current()
        if candidate is None:
            return False
        document.apply_result(candidate.image, candidate.frame, candidate.request, candidate.takes_frame)
        self.clear()
        return True

    def discard(self) -> None:
        if self.current() is None:
            return
        del self._items[self._index]
        self._index = min(self._index, len(self._items) - 1)
        self.changed.emit()

    def clear(self) -> None:
        if self._items:
            self._items.clear()
            self._index = -1
            self.changed.emit()
