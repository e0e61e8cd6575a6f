"""Undo commands for the canvas.

Most edits swap one whole ``CanvasState`` for another: ``QImage`` shares its
pixels until written to, so a state that keeps the old image costs nothing
until the image really changes. Brush strokes store only the patch they touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QPainter, QUndoCommand

from desktop_sd.core.request import GenerationRequest


@dataclass(frozen=True, eq=False)
class CanvasState:
    """Everything undoable about the canvas. ``image`` is None for a blank canvas of ``rect``'s size.

    The title is not here: naming or saving the document is not an edit to undo.
    """

    rect: QRect
    image: QImage | None
    mask: QImage
    frame: QRect
    source: GenerationRequest | None = None  # the request that made the image, for export metadata


class StateCommand(QUndoCommand):
    """Replace the canvas state; consecutive commands with the same ``merge_key`` fold into one step.

    ``restore`` puts a state on the canvas (the document's own setter).
    """

    MERGE_ID = 1

    def __init__(
        self,
        restore: Callable[[CanvasState], None],
        text: str,
        before: CanvasState,
        after: CanvasState,
        merge_key: str | None = None,
    ) -> None:
        super().__init__(text)
        self._restore = restore
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def redo(self) -> None:
        self._restore(self.after)

    def undo(self) -> None:
        self._restore(self.before)

    def id(self) -> int:
        return self.MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, StateCommand) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        return True


class MaskPatchCommand(QUndoCommand):
    """One brush stroke: the mask pixels of ``rect`` before and after it; ``patch`` writes them back."""

    def __init__(
        self, patch: Callable[[QRect, QImage], None], text: str, rect: QRect, before: QImage, after: QImage
    ) -> None:
        super().__init__(text)
        self._patch = patch
        self._rect = rect
        self._before = before
        self._after = after

    def redo(self) -> None:
        self._patch(self._rect, self._after)

    def undo(self) -> None:
        self._patch(self._rect, self._before)


def paste(target: QImage, at: QPoint, patch: QImage) -> None:
    """Copy ``patch`` into ``target`` at ``at``, replacing (not blending) what was there."""
    painter = QPainter(target)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
    painter.drawImage(at, patch)
    painter.end()
