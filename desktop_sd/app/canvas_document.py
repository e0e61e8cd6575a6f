"""The canvas as a model: image, mask, generation frame, undo history.

Views subscribe to its signals and edit it through its methods; every edit
goes through the ``QUndoStack`` so it can be undone. It also turns the canvas
state into a ``GenerationRequest`` and a result back into pixels, and converts
to and from the plain ``core.document.Document``.
"""

from __future__ import annotations

import dataclasses

from PIL import Image
from PySide6.QtCore import QObject, QPoint, QPointF, QRect, QSize, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QUndoStack

from desktop_sd.app import mask_ops
from desktop_sd.app.canvas_commands import CanvasState, MaskPatchCommand, StateCommand, paste
from desktop_sd.app.canvas_geometry import canvas_mode, default_frame, outpaint_borders, snap_frame, snap_size
from desktop_sd.app.qimages import pil_to_qimage, qimage_to_pil
from desktop_sd.core.document import Document, Rect
from desktop_sd.core.request import GenerationRequest, Mode, strength_for

IMAGE_FORMAT = QImage.Format.Format_RGB32
BLANK_FILL = QColor(255, 255, 255)
UNDO_LIMIT = 200


UNTITLED = "Untitled"  # the title of a canvas that has no file yet

class CanvasDocument(QObject):
    image_changed = Signal()  # pixels or extent of the image
    mask_changed = Signal(QRect)  # the part of the mask that changed (mask coordinates; empty = all)
    frame_changed = Signal(QRect)
    mode_changed = Signal(object)  # Mode
    title_changed = Signal(str)
    changed = Signal()  # anything in the document

    def __init__(self, size: QSize = QSize(512, 512), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        rect = QRect(QPoint(0, 0), size)
        self._state = CanvasState(rect, None, mask_ops.new_mask(size.width(), size.height()), default_frame(rect))
        self._title = UNTITLED
        self._mode = Mode.TXT2IMG
        self._mask_in_frame = False
        self._stroke_before: QImage | None = None
        self._stroke_dirty = QRect()

    # ---- reading -------------------------------------------------------------------------------
    @property
    def image(self) -> QImage | None:
        return self._state.image

    @property
    def rect(self) -> QRect:
        """World rectangle of the image (or the blank canvas)."""
        return QRect(self._state.rect)

    @property
    def mask(self) -> QImage:
        return self._state.mask

    @property
    def frame(self) -> QRect:
        return QRect(self._state.frame)

    @property
    def title(self) -> str:
        return self._title

    @property
    def source(self) -> GenerationRequest | None:
        return self._state.source

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def mask_in_frame(self) -> bool:
        """A mask is painted inside the frame (an outpaint then repaints it too)."""
        return self._mask_in_frame

    def has_mask(self) -> bool:
        return mask_ops.is_painted(self.mask, self.mask.rect())

    def has_work(self) -> bool:
        """Whether the canvas holds anything worth keeping: an image or a painted mask."""
        return self.image is not None or self.has_mask()

    def feathered_mask(self, frame: QRect, feather: int) -> QImage:
        """The blend weights inside ``frame`` (frame-sized, 8-bit): where an inpaint result will show."""
        local = frame.translated(-self.rect.topLeft())
        weights = QImage(frame.size(), QImage.Format.Format_Grayscale8)
        weights.fill(0)
        inside = local.intersected(self.mask.rect())
        if not inside.isEmpty():
            paste(weights, inside.topLeft() - local.topLeft(), mask_ops.feathered_region(self.mask, inside, feather))
        return weights

    def flattened(self) -> QImage:
        """The image as it would be exported (a blank canvas is white)."""
        if self.image is not None:
            return self.image.copy()
        blank = QImage(self.rect.size(), IMAGE_FORMAT)
        blank.fill(BLANK_FILL)
        return blank

    # ---- whole-canvas edits ------------------------------------------------------------------------
    def new_blank(self, size: QSize, title: str = UNTITLED) -> None:
        rect = QRect(QPoint(0, 0), size)
        mask = mask_ops.new_mask(size.width(), size.height())
        self._push("New canvas", CanvasState(rect, None, mask, default_frame(rect, self._frame_pref())))
        self.set_title(title)

    def set_image(self, image: QImage, title: str, source: GenerationRequest | None = None) -> None:
        """Replace the canvas with ``image`` (undoable, so opening a file never loses the canvas)."""
        rect = QRect(QPoint(0, 0), image.size())
        mask = mask_ops.new_mask(rect.width(), rect.height())
        frame = default_frame(rect, self._frame_pref())
        self._push(f"Open {title}", CanvasState(rect, image.convertToFormat(IMAGE_FORMAT), mask, frame, source))
        self.set_title(title)

    def set_title(self, title: str) -> None:
        if title != self._title:
            self._title = title
            self.title_changed.emit(title)

    def apply_result(
        self, result: QImage, frame: QRect, source: GenerationRequest | None = None, take_frame: bool = False
    ) -> None:
        """Put a generated image at ``frame``, growing the canvas when the frame reaches past it.

        On a blank canvas the result becomes the image, exactly the frame's size. ``take_frame`` makes
        ``frame`` the canvas frame too, in the same undo step (a hires fix result: the frame then holds
        the image that was made, not the quarter of it the base size covers).
        """
        state = self._state
        rect = state.rect.united(frame) if state.image is not None else QRect(frame)
        image = QImage(rect.size(), IMAGE_FORMAT)
        image.fill(BLANK_FILL)
        painter = QPainter(image)
        if state.image is not None:
            painter.drawImage(state.rect.topLeft() - rect.topLeft(), state.image)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRect(frame.topLeft() - rect.topLeft(), frame.size()), result)
        painter.end()
        mask = state.mask
        if rect != state.rect:
            mask = mask_ops.new_mask(rect.width(), rect.height())
            if state.image is not None:
                paste(mask, state.rect.topLeft() - rect.topLeft(), state.mask)
        after = dataclasses.replace(state, rect=rect, image=image, mask=mask, source=source)
        if take_frame:
            after = dataclasses.replace(after, frame=snap_frame(frame, rect))
        self._push("Apply result", after)

    # ---- frame ----------------------------------------------------------------------------------------
    def set_frame(self, frame: QRect, merge_key: str | None = None) -> None:
        """Move or resize the frame (snapped); edits sharing a ``merge_key`` undo as one step."""
        snapped = snap_frame(frame, self.rect)
        if snapped != self._state.frame:
            self._push("Move frame", dataclasses.replace(self._state, frame=snapped), merge_key)

    def set_frame_size(self, width: int, height: int) -> None:
        frame = self.frame
        self.set_frame(QRect(frame.x(), frame.y(), snap_size(width), snap_size(height)), merge_key="frame-size")

    # ---- mask --------------------------------------------------------------------------------------
    def clear_mask(self) -> None:
        mask = mask_ops.new_mask(self.rect.width(), self.rect.height())
        self._push("Clear mask", dataclasses.replace(self._state, mask=mask))

    def fill_mask(self) -> None:
        mask = mask_ops.new_mask(self.rect.width(), self.rect.height())
        mask.fill(255)
        self._push("Fill mask", dataclasses.replace(self._state, mask=mask))

    def invert_mask(self) -> None:
        mask = mask_ops.binary_mask(self.mask)
        self._push("Invert mask", dataclasses.replace(self._state, mask=pil_to_qimage(mask.point(lambda v: 255 - v))))

    def begin_stroke(self) -> None:
        self._stroke_before = self.mask.copy()
        self._stroke_dirty = QRect()

    def stroke_segment(self, start: QPointF, end: QPointF, radius: float, hardness: float, erase: bool) -> None:
        """Paint one segment of the stroke in progress (world coordinates)."""
        if self._stroke_before is None:
            self.begin_stroke()
        offset = QPointF(self.rect.topLeft())
        dirty = mask_ops.paint_segment(self._state.mask, start - offset, end - offset, radius, hardness, erase)
        if not dirty.isEmpty():
            self._stroke_dirty = self._stroke_dirty.united(dirty)
            self.mask_changed.emit(dirty)

    def end_stroke(self, erase: bool = False) -> None:
        before, dirty = self._stroke_before, self._stroke_dirty
        self._stroke_before, self._stroke_dirty = None, QRect()
        if before is None or dirty.isEmpty():
            return
        command = MaskPatchCommand(
            self._patch_mask, "Erase mask" if erase else "Paint mask", dirty, before.copy(dirty), self.mask.copy(dirty)
        )
        self.undo_stack.push(command)

    # ---- requests and results -------------------------------------------------------------------------
    def request_for(self, params: GenerationRequest) -> GenerationRequest:
        """``params`` (the prompt panel's settings) completed with this canvas: mode, size, images."""
        state, frame = self._state, self.frame
        mode = self._mode
        changes: dict[str, object] = {
            "mode": mode,
            "width": frame.width(),
            "height": frame.height(),
            "init_image": None,
            "mask": None,
        }
        if mode is Mode.TXT2IMG:
            return params.replace(**changes)
        assert state.image is not None  # every other mode works on the image
        if mode in (Mode.IMG2IMG, Mode.INPAINT):
            local = frame.translated(-state.rect.topLeft())
            changes["init_image"] = qimage_to_pil(state.image.copy(local))
            if mode is Mode.INPAINT:
                changes["mask"] = mask_ops.binary_mask(state.mask.copy(local))
        elif mode is Mode.OUTPAINT:
            inside = frame.intersected(state.rect).translated(-state.rect.topLeft())
            changes["init_image"] = qimage_to_pil(state.image.copy(inside))
            changes["outpaint"] = outpaint_borders(frame, state.rect)
            changes["strength"] = strength_for(mode, None)  # the panel offers no strength here
            if mask_ops.is_painted(state.mask, inside):  # repaint that part of the image too
                changes["mask"] = mask_ops.binary_mask(state.mask.copy(inside))
        return params.replace(**changes)

    # ---- plain data --------------------------------------------------------------------------------------
    def to_document(self, prompt: dict[str, object] | None = None) -> Document:
        state = self._state
        frame = state.frame.translated(-state.rect.topLeft())
        return Document(
            size=(state.rect.width(), state.rect.height()),
            image=qimage_to_pil(state.image) if state.image is not None else None,
            mask=mask_ops.binary_mask(state.mask) if self.has_mask() else None,
            frame=Rect(frame.x(), frame.y(), frame.width(), frame.height()),
            title=self._title,
            prompt=dict(prompt or {}),
        )

    def load_document(self, doc: Document) -> None:
        """Replace everything with ``doc``; the undo history starts afresh and the document is clean."""
        image = pil_to_qimage(doc.image).convertToFormat(IMAGE_FORMAT) if doc.image is not None else None
        size = image.size() if image is not None else QSize(*doc.size)
        rect = QRect(QPoint(0, 0), size)
        if doc.mask is not None:
            mask_image = doc.mask.convert("L")
            if mask_image.size != (size.width(), size.height()):
                mask_image = mask_image.resize((size.width(), size.height()), Image.Resampling.NEAREST)
            mask = pil_to_qimage(mask_image)
        else:
            mask = mask_ops.new_mask(size.width(), size.height())
        frame = (
            snap_frame(QRect(doc.frame.x, doc.frame.y, doc.frame.width, doc.frame.height), rect)
            if doc.frame is not None
            else default_frame(rect)
        )
        self.undo_stack.clear()
        self._restore(CanvasState(rect, image, mask, frame))
        self.undo_stack.setClean()
        self.set_title(doc.title)

    # ---- internals (also used by the undo commands) -----------------------------------------------------
    def _frame_pref(self) -> tuple[int, int]:
        return (self.frame.width(), self.frame.height())

    def _push(self, text: str, after: CanvasState, merge_key: str | None = None) -> None:
        self.undo_stack.push(StateCommand(self._restore, text, self._state, after, merge_key))

    def _restore(self, state: CanvasState) -> None:
        old, self._state = self._state, state
        if old.image is not state.image or old.rect != state.rect:
            self.image_changed.emit()
        if old.mask is not state.mask or old.rect != state.rect:
            self.mask_changed.emit(QRect())
        if old.frame != state.frame or old.rect != state.rect:
            self.frame_changed.emit(self.frame)
        self._update_mode()
        self.changed.emit()

    def _patch_mask(self, rect: QRect, patch: QImage) -> None:
        paste(self._state.mask, rect.topLeft(), patch)
        self.mask_changed.emit(rect)
        self._update_mode()
        self.changed.emit()

    def _update_mode(self) -> None:
        state = self._state
        local = state.frame.translated(-state.rect.topLeft())
        painted = state.image is not None and mask_ops.is_painted(state.mask, local)
        mode = canvas_mode(state.image is not None, state.rect, state.frame, painted)
        if mode is not self._mode or painted != self._mask_in_frame:
            self._mode, self._mask_in_frame = mode, painted
            self.mode_changed.emit(mode)
