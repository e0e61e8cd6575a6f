"""The canvas widget: a zoomable, pannable view of the document with mask tools and the frame.

Wheel zooms around the pointer; space-drag or the middle button pans. The
brush and eraser paint the mask (one undo step per stroke); the frame tool
moves and resizes the generation frame.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QEnterEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.ui.canvas_items import BrushCursorItem, FrameItem, ImageItem, MaskItem, PreviewItem
from desktop_sd.ui.theme import show_focus

MIN_ZOOM, MAX_ZOOM = 0.05, 32.0
SCENE_MARGIN = 4096  # room around the canvas to drag the frame out for outpainting


class Tool(StrEnum):
    FRAME = "frame"
    BRUSH = "brush"
    ERASER = "eraser"


class CanvasView(QGraphicsView):
    zoom_changed = Signal(float)
    files_dropped = Signal(list)  # list[str]
    image_dropped = Signal(QImage)
    tool_changed = Signal(str)
    tab_pressed = Signal()  # Tab on the canvas: show or hide the panels

    def __init__(self, document: CanvasDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setBackgroundBrush(QColor(43, 43, 46))
        self.setMouseTracking(True)
        # No scroll bars: the canvas pans with space-drag or the middle button, as in paint programs.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        show_focus(self, framed=False)
        self.setMinimumSize(160, 160)

        self.image_item = ImageItem(document)
        self.mask_item = MaskItem(document)
        self.preview_item = PreviewItem()
        self.frame_item = FrameItem(document)
        self.brush_cursor = BrushCursorItem(lambda: self.brush_size / 2)
        for item in (self.image_item, self.mask_item, self.preview_item, self.frame_item, self.brush_cursor):
            self.scene().addItem(item)

        self.tool = Tool.FRAME
        self.brush_size = 48
        self.hardness = 0.8
        self._stroke_last: QPointF | None = None
        self._stroke_erase = False
        self._pan_from: QPoint | None = None
        self._space = False
        self._fitted = False
        self._follow_size = True  # fitted to the view: re-fit when the view changes size, until the user zooms

        document.image_changed.connect(self._on_image_changed)
        document.mask_changed.connect(self._on_mask_changed)
        document.frame_changed.connect(self._on_frame_changed)
        document.mode_changed.connect(lambda _mode: self.frame_item.sync())
        self._update_scene_rect()
        self.set_tool(Tool.FRAME)

    # ---- tools -------------------------------------------------------------------------------------
    def set_tool(self, tool: Tool | str) -> None:
        self.tool = Tool(tool)
        painting = self.tool is not Tool.FRAME
        self.frame_item.set_interactive(not painting)
        self.brush_cursor.setVisible(painting and self.underMouse())
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if painting else Qt.CursorShape.ArrowCursor)
        self.tool_changed.emit(str(self.tool))

    def set_brush_size(self, size: int) -> None:
        self.brush_size = max(1, int(size))
        self.brush_cursor.refresh()

    def set_hardness(self, hardness: float) -> None:
        self.hardness = min(1.0, max(0.0, hardness))

    def set_feather(self, feather: int) -> None:
        self.mask_item.set_feather(feather)

    # ---- zoom ---------------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float) -> None:
        self._follow_size = False
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self.setTransform(self.transform().fromScale(zoom, zoom))
        self._zoomed()

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom() * factor)

    def zoom_actual(self) -> None:
        self.set_zoom(1.0)
        self.centerOn(QRectF(self.document.rect.united(self.document.frame)).center())

    def zoom_fit(self) -> None:
        area = QRectF(self.document.rect.united(self.document.frame)).adjusted(-24, -40, 24, 24)
        self.fitInView(area, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > MAX_ZOOM or self.zoom() < MIN_ZOOM:
            self.set_zoom(self.zoom())
        self._follow_size = True
        self._zoomed()

    def _zoomed(self) -> None:
        self.frame_item.set_screen_scale(self.zoom())
        self.zoom_changed.emit(self.zoom())

    # ---- progress and candidates ----------------------------------------------------------------------
    def show_progress(
        self, frame: QRect, step: int, total: int, preview: QImage, clip: QImage | None = None, label: str = ""
    ) -> None:
        """The running job's preview over ``frame`` (only where ``clip`` says it will paint, for inpainting).

        ``label`` says what the job is doing when it is not a step ("Loading the model…", "Cancelling…").
        """
        self.preview_item.show_image(frame, preview, (step, total), clip=clip, label=label)

    def show_candidate(self, frame: QRect, image: QImage, caption: str) -> None:
        self.preview_item.show_image(frame, image, None, caption)

    def clear_preview(self) -> None:
        self.preview_item.clear()

    # ---- document signals -----------------------------------------------------------------------------
    def _on_image_changed(self) -> None:
        self.image_item.reload()
        self._update_scene_rect()

    def _on_mask_changed(self, rect: QRect) -> None:
        if self._stroke_last is not None and not rect.isEmpty():
            self.mask_item.update_patch(rect)
        else:
            self.mask_item.rebuild(rect)

    def _on_frame_changed(self, _frame: QRect) -> None:
        self.frame_item.sync()
        self._update_scene_rect()

    def _update_scene_rect(self) -> None:
        area = QRectF(self.document.rect.united(self.document.frame))
        self.setSceneRect(area.adjusted(-SCENE_MARGIN, -SCENE_MARGIN, SCENE_MARGIN, SCENE_MARGIN))

    # ---- events --------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._fitted:
            self._fitted = True
            QTimer.singleShot(0, self.zoom_fit)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._follow_size and self._fitted:
            self.zoom_fit()
        bar = self.findChild(QWidget, "candidate-bar")
        if bar is not None:
            bar.adjustSize()
            bar.move((self.width() - bar.width()) // 2, self.height() - bar.height() - 16)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.15**steps)
        event.accept()

    def event(self, event: QEvent) -> bool:
        # Before QWidget turns Tab into a focus change: on the canvas it shows or hides the panels.
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Tab
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
        ):
            self.tab_pressed.emit()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.set_tool(self.tool)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton
        ):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.tool is not Tool.FRAME:
            if self.document.image is None:
                return  # nothing to mask on a blank canvas
            point = self.mapToScene(event.position().toPoint())
            self._stroke_erase = self.tool is Tool.ERASER
            self._stroke_last = point
            self.document.begin_stroke()
            self.document.stroke_segment(point, point, self.brush_size / 2, self.hardness, self._stroke_erase)
            event.accept()
            return
        super().mousePressEvent(event)
        if not event.isAccepted() and event.button() == Qt.MouseButton.LeftButton:
            self._pan_from = event.position().toPoint()  # dragging empty canvas pans
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        point = self.mapToScene(event.position().toPoint())
        self.brush_cursor.setPos(point)
        if self._pan_from is not None:
            delta = event.position().toPoint() - self._pan_from
            self._pan_from = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        if self._stroke_last is not None:
            self.document.stroke_segment(
                self._stroke_last, point, self.brush_size / 2, self.hardness, self._stroke_erase
            )
            self._stroke_last = point
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.set_tool(self.tool)
            event.accept()
            return
        if self._stroke_last is not None:
            self._stroke_last = None
            self.document.end_stroke(self._stroke_erase)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def enterEvent(self, event: QEnterEvent) -> None:
        self.brush_cursor.setVisible(self.tool is not Tool.FRAME)
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self.brush_cursor.hide()
        super().leaveEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData()
        files = [url.toLocalFile() for url in data.urls() if url.isLocalFile()]
        if files:
            self.files_dropped.emit([str(Path(f)) for f in files])
        elif data.hasImage():
            image = QImage(data.imageData())
            if not image.isNull():
                self.image_dropped.emit(image)
        event.acceptProposedAction()
