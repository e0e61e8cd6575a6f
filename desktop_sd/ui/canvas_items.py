"""Scene items of the canvas: the image, the mask overlay, the generation frame and the preview."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QCursor, QFont, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from desktop_sd.app import mask_ops
from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.ui.names import mode_name

MASK_COLOR = QColor(255, 40, 120)
MASK_OPACITY = 0.5
FRAME_COLOR = QColor(80, 170, 255)
HANDLE_PX = 9  # handle size on screen, whatever the zoom



def _screen_scale(painter: QPainter) -> float:
    return max(1e-6, painter.worldTransform().m11())


class ImageItem(QGraphicsItem):
    """The image, or a checkerboard for a blank canvas."""

    def __init__(self, document: CanvasDocument) -> None:
        super().__init__()
        self._document = document
        self._pixmap = QPixmap()
        self._rect = QRectF()
        self.setZValue(0)
        self.reload()

    def reload(self) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(self._document.rect)
        image = self._document.image
        self._pixmap = QPixmap.fromImage(image) if image is not None else QPixmap()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._pixmap.isNull():
            painter.fillRect(self._rect, QColor(250, 250, 250))
            painter.fillRect(self._rect, QBrush(QColor(225, 225, 225), Qt.BrushStyle.Dense6Pattern))
        else:
            painter.drawPixmap(self._rect.topLeft(), self._pixmap)


class MaskItem(QGraphicsItem):
    """The mask as a translucent tint, feathered exactly as generation will blend it.

    While a stroke is painted, the touched patch shows the raw mask at once.
    The exact feathered overlay is then computed a strip at a time on a
    zero-length timer, so a large mask or a feather change never stalls the GUI
    for more than a few milliseconds.
    """

    STRIP_ROWS = 24
    BUDGET_S = 0.008  # work per timer tick

    def __init__(self, document: CanvasDocument) -> None:
        super().__init__()
        self._document = document
        self._feather = 0
        self._tint = QImage()
        self._shown = QRect()  # where the tint may be non-zero
        self._strips: list[QRect] = []
        self._timer = QTimer()
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._work)
        self.setZValue(1)
        self.setOpacity(MASK_OPACITY)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.rebuild()

    def set_feather(self, feather: int) -> None:
        if feather != self._feather:
            self._feather = feather
            self.rebuild()

    def rebuild(self, rect: QRect | None = None) -> None:
        """Recompute the feathered overlay of ``rect`` (mask coordinates), or of all of it."""
        mask = self._document.mask
        if self._tint.size() != mask.size():
            self.prepareGeometryChange()
            self._tint = QImage(mask.size(), QImage.Format.Format_ARGB32_Premultiplied)
            self._tint.fill(Qt.GlobalColor.transparent)
            self._shown = QRect()
            rect = None
        f = self._feather
        if rect is None or rect.isEmpty():
            self._strips.clear()
            region = self._shown.united(mask_ops.painted_rect(mask, f))
        else:
            region = rect.adjusted(-f, -f, f, f).intersected(mask.rect())
        for top in range(region.top(), region.top() + region.height(), self.STRIP_ROWS):
            rows = min(self.STRIP_ROWS, region.top() + region.height() - top)
            self._strips.append(QRect(region.left(), top, region.width(), rows))
        if self._strips:
            self._timer.start()
        self.update()

    def flush(self) -> None:
        """Finish the overlay now (tests, and before a screenshot)."""
        while self._strips:
            self._render(self._strips.pop(0))
        self._timer.stop()

    def pending(self) -> bool:
        return bool(self._strips)

    def update_patch(self, rect: QRect) -> None:
        """Show the raw mask of ``rect`` (mask coordinates) while a stroke is in progress."""
        rect = rect.intersected(self._document.mask.rect())
        if rect.isEmpty() or self._tint.size() != self._document.mask.size():
            self.rebuild()
            return
        self._blit(self._document.mask.copy(rect), rect)
        self.update(QRectF(rect.translated(self._document.rect.topLeft())))

    def _work(self) -> None:
        deadline = time.perf_counter() + self.BUDGET_S
        while self._strips and time.perf_counter() < deadline:
            self._render(self._strips.pop(0))
        if not self._strips:
            self._timer.stop()

    def _render(self, strip: QRect) -> None:
        region = mask_ops.feathered_region(self._document.mask, strip, self._feather)
        if region.isNull():
            return
        self._blit(region, strip)
        self.update(QRectF(strip.translated(self._document.rect.topLeft())))

    def _blit(self, alpha: QImage, where: QRect) -> None:
        patch = QImage(where.size(), QImage.Format.Format_ARGB32_Premultiplied)
        patch.fill(MASK_COLOR)
        patch.setAlphaChannel(alpha)
        painter = QPainter(self._tint)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(where.topLeft(), patch)
        painter.end()
        self._shown = self._shown.united(where)

    def boundingRect(self) -> QRectF:
        return QRectF(self._document.rect)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        origin = QPointF(self._document.rect.topLeft())
        exposed = option.exposedRect.intersected(self.boundingRect())
        if exposed.isEmpty() or self._tint.isNull():
            return
        painter.drawImage(exposed, self._tint, exposed.translated(-origin))


class FrameItem(QGraphicsObject):
    """The generation frame: drag inside to move it, drag an edge or corner to resize it.

    Every drag becomes one undo step; the document snaps the result to the 8-pixel grid.
    """

    def __init__(self, document: CanvasDocument) -> None:
        super().__init__()
        self._document = document
        self._rect = QRectF(document.frame)
        self._drag: tuple[str, QPointF, QRectF] | None = None
        self._drags = 0
        self._label = ""
        self._screen_scale = 1.0
        self.setZValue(3)
        self.setAcceptHoverEvents(True)
        self.sync()

    def set_interactive(self, on: bool) -> None:
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton if on else Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(on)
        if not on:
            self.unsetCursor()

    def set_screen_scale(self, scale: float) -> None:
        """The view's zoom; handles keep their size on screen."""
        self.prepareGeometryChange()
        self._screen_scale = max(1e-6, scale)

    def sync(self) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(self._document.frame)
        mode = self._document.mode
        name = mode_name(mode, self._document.mask_in_frame)
        self._label = f"{self._rect.width():.0f} × {self._rect.height():.0f}  ·  {name}"
        self.update()

    def boundingRect(self) -> QRectF:
        margin = (HANDLE_PX + 2) / self._screen_scale
        return self._rect.adjusted(-margin, -margin - 22 / self._screen_scale, margin, margin)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        scale = _screen_scale(painter)
        image_rect = QRectF(self._document.rect)
        if self._document.image is not None and not image_rect.contains(self._rect):
            # The part past the image will be generated: hatch it.
            outside = QPainterPath()
            outside.addRect(self._rect)
            inside = QPainterPath()
            inside.addRect(image_rect)
            painter.fillPath(outside.subtracted(inside), QBrush(QColor(80, 170, 255, 110), Qt.BrushStyle.BDiagPattern))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 160), 3 / scale))
        painter.drawRect(self._rect)
        pen = QPen(FRAME_COLOR, 1.5 / scale, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRect(self._rect)
        if self.acceptHoverEvents():
            size = HANDLE_PX / scale
            painter.setPen(QPen(QColor(20, 20, 20), 1 / scale))
            painter.setBrush(FRAME_COLOR)
            for point in self._handle_points().values():
                painter.drawRect(QRectF(point.x() - size / 2, point.y() - size / 2, size, size))
        # Size and mode label above the frame, in screen pixels.
        painter.save()
        top_left = painter.worldTransform().map(self._rect.topLeft())
        painter.resetTransform()
        font = QFont(painter.font())
        font.setPointSizeF(9)
        painter.setFont(font)
        text_rect = painter.fontMetrics().boundingRect(self._label).adjusted(-5, -2, 5, 2)
        text_rect.moveBottomLeft(top_left.toPoint() + QPointF(0, -3).toPoint())
        painter.fillRect(text_rect, QColor(20, 20, 20, 190))
        painter.setPen(QColor(235, 235, 235))
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, self._label)
        painter.restore()

    def _handle_points(self) -> dict[str, QPointF]:
        r = self._rect
        cx, cy = r.center().x(), r.center().y()
        return {
            "tl": r.topLeft(),
            "t": QPointF(cx, r.top()),
            "tr": r.topRight(),
            "r": QPointF(r.right(), cy),
            "br": r.bottomRight(),
            "b": QPointF(cx, r.bottom()),
            "bl": r.bottomLeft(),
            "l": QPointF(r.left(), cy),
        }

    def _hit(self, pos: QPointF) -> str | None:
        reach = (HANDLE_PX + 3) / self._screen_scale
        for name, point in self._handle_points().items():
            if abs(pos.x() - point.x()) <= reach and abs(pos.y() - point.y()) <= reach:
                return name
        return "move" if self._rect.contains(pos) else None

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        reach = (HANDLE_PX + 3) / self._screen_scale
        path.addRect(self._rect.adjusted(-reach, -reach, reach, reach))
        return path

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.setCursor(QCursor(_CURSORS.get(self._hit(event.pos()) or "", Qt.CursorShape.ArrowCursor)))

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        handle = self._hit(event.pos())
        if handle is None or event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self._drags += 1
        self._drag = (handle, event.scenePos(), QRectF(self._rect))
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is None:
            return
        handle, start, rect = self._drag
        delta = event.scenePos() - start
        new = _dragged(rect, handle, delta)
        self._document.set_frame(new.toAlignedRect(), merge_key=f"frame-drag-{self._drags}")

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._drag = None


_CURSORS: dict[str, Qt.CursorShape] = {
    "tl": Qt.CursorShape.SizeFDiagCursor,
    "br": Qt.CursorShape.SizeFDiagCursor,
    "tr": Qt.CursorShape.SizeBDiagCursor,
    "bl": Qt.CursorShape.SizeBDiagCursor,
    "t": Qt.CursorShape.SizeVerCursor,
    "b": Qt.CursorShape.SizeVerCursor,
    "l": Qt.CursorShape.SizeHorCursor,
    "r": Qt.CursorShape.SizeHorCursor,
    "move": Qt.CursorShape.SizeAllCursor,
}


def _dragged(rect: QRectF, handle: str, delta: QPointF) -> QRectF:
    """``rect`` after dragging ``handle`` by ``delta`` (the opposite edge stays put)."""
    r = QRectF(rect)
    if handle == "move":
        return r.translated(delta)
    if "l" in handle:
        r.setLeft(min(r.left() + delta.x(), r.right() - 64))
    if "r" in handle:
        r.setRight(max(r.right() + delta.x(), r.left() + 64))
    if "t" in handle:
        r.setTop(min(r.top() + delta.y(), r.bottom() - 64))
    if "b" in handle:
        r.setBottom(max(r.bottom() + delta.y(), r.top() + 64))
    return r


class PreviewItem(QGraphicsItem):
    """Over the frame: the live preview and progress of the running job, or the candidate on show."""

    def __init__(self) -> None:
        super().__init__()
        self._rect = QRectF()
        self._image = QImage()
        self._progress: tuple[int, int] | None = None
        self._caption = ""
        self._label = ""
        self.setZValue(2)
        self.hide()

    @property
    def caption(self) -> str:
        """The line under the image ("Candidate 2 of 4  ·  seed 7"), empty during a job."""
        return self._caption

    @property
    def label(self) -> str:
        """What a running job is doing when it is not a step ("Loading the model…", "Cancelling…")."""
        return self._label

    def show_image(
        self,
        rect: QRect,
        image: QImage,
        progress: tuple[int, int] | None = None,
        caption: str = "",
        clip: QImage | None = None,
        label: str = "",
    ) -> None:
        """Show ``image`` over ``rect``; ``clip`` (8-bit, rect-sized) limits it to where the job will paint.

        During a job (``progress`` given) the label reads "Step k of n" unless ``label`` says otherwise.
        """
        self.prepareGeometryChange()
        self._rect = QRectF(rect)
        if not image.isNull() and clip is not None and not clip.isNull():
            image = image.scaled(
                rect.size(), Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
            ).convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
            image.setAlphaChannel(clip)
        if not image.isNull() or progress is None:
            self._image = image
        self._progress = progress
        self._caption = caption
        self._label = label
        self.show()
        self.update()

    def clear(self) -> None:
        self._image = QImage()
        self._progress = None
        self.hide()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._image.isNull() and self._progress is not None:
            painter.fillRect(self._rect, QColor(0, 0, 0, 70))
        elif not self._image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self._rect, self._image)
        painter.save()
        screen = painter.worldTransform().mapRect(self._rect)
        painter.resetTransform()
        if self._progress is not None:
            step, total = self._progress
            bar = QRectF(screen.left() + 8, screen.bottom() - 14, max(0.0, screen.width() - 16), 6)
            painter.fillRect(bar, QColor(0, 0, 0, 150))
            painter.fillRect(
                QRectF(bar.left(), bar.top(), bar.width() * step / max(1, total), bar.height()), FRAME_COLOR
            )
            text = self._label or f"Step {step} of {total}"
        else:
            text = self._caption
        if text:
            box = painter.fontMetrics().boundingRect(text).adjusted(-6, -3, 6, 3)
            box.moveTopLeft(QPointF(screen.left() + 8, screen.top() + 8).toPoint())
            painter.fillRect(box, QColor(20, 20, 20, 190))
            painter.setPen(QColor(240, 240, 240))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class BrushCursorItem(QGraphicsItem):
    """A circle showing the brush size under the pointer."""

    def __init__(self, radius_of: Callable[[], float]) -> None:
        super().__init__()
        self._radius_of = radius_of
        self.setZValue(10)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.hide()

    def boundingRect(self) -> QRectF:
        r = self._radius_of() + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def refresh(self) -> None:
        self.prepareGeometryChange()
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        r = self._radius_of()
        scale = _screen_scale(painter)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 200), 2.5 / scale))
        painter.drawEllipse(QPointF(0, 0), r, r)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 1 / scale))
        painter.drawEllipse(QPointF(0, 0), r, r)
