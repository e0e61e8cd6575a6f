"""The canvas widget driven with the mouse: brush and eraser strokes, frame drags, zoom, drops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, QRect, QRectF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.core.request import Mode
from desktop_sd.ui.canvas_view import CanvasView, Tool


@pytest.fixture
def view(qtbot: QtBot) -> Iterator[CanvasView]:
    document = CanvasDocument()
    image = QImage(400, 300, QImage.Format.Format_RGB32)
    image.fill(QColor(120, 130, 140))
    document.set_image(image, "grey.png")
    widget = CanvasView(document)
    qtbot.addWidget(widget)
    widget.resize(600, 500)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_zoom(1.0)
    widget.centerOn(200, 150)
    yield widget


def _send(
    view: CanvasView, kind: QEvent.Type, scene: tuple[float, float], button: Qt.MouseButton, buttons: Qt.MouseButton
) -> None:
    pos = QPointF(view.mapFromScene(QPointF(*scene)))
    event = QMouseEvent(kind, pos, view.viewport().mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), event)


def _drag(
    view: CanvasView, points: list[tuple[float, float]], button: Qt.MouseButton = Qt.MouseButton.LeftButton
) -> None:
    _send(view, QEvent.Type.MouseButtonPress, points[0], button, button)
    for point in points[1:]:
        _send(view, QEvent.Type.MouseMove, point, Qt.MouseButton.NoButton, button)
    _send(view, QEvent.Type.MouseButtonRelease, points[-1], button, Qt.MouseButton.NoButton)


def _mask(view: CanvasView, x: int, y: int) -> int:
    return view.document.mask.pixelColor(x, y).red()


def test_a_brush_stroke_paints_the_mask_as_one_undo_step(view: CanvasView) -> None:
    doc = view.document
    view.set_tool(Tool.BRUSH)
    view.set_brush_size(20)
    view.set_hardness(1.0)
    before = doc.undo_stack.count()
    _drag(view, [(100, 100), (150, 100), (200, 100)])
    assert _mask(view, 150, 100) == 255 and _mask(view, 150, 130) == 0
    assert doc.undo_stack.count() == before + 1 and doc.mode is Mode.INPAINT
    doc.undo_stack.undo()
    assert _mask(view, 150, 100) == 0 and doc.mode is Mode.IMG2IMG


def test_the_eraser_removes_mask(view: CanvasView) -> None:
    view.set_tool(Tool.BRUSH)
    view.set_brush_size(40)
    _drag(view, [(100, 100), (200, 100)])
    view.set_tool(Tool.ERASER)
    view.set_brush_size(10)
    _drag(view, [(150, 80), (150, 120)])
    assert _mask(view, 150, 100) == 0 and _mask(view, 110, 100) == 255


def test_the_overlay_shows_the_mask_feathered_as_it_will_be_used(qtbot: QtBot, view: CanvasView) -> None:
    view.set_tool(Tool.BRUSH)
    view.set_brush_size(20)
    view.set_hardness(1.0)
    view.set_feather(6)
    _drag(view, [(100, 100), (140, 100)])
    qtbot.waitUntil(lambda: not view.mask_item.pending(), timeout=5000)
    tint = view.mask_item._tint
    assert tint.pixelColor(120, 100).alpha() == 255  # painted
    assert 0 < tint.pixelColor(120, 114).alpha() < 255  # 4 px outside the stroke: in the blend band
    assert tint.pixelColor(120, 125).alpha() == 0  # past the feather: untouched


def test_painting_on_a_blank_canvas_does_nothing(qtbot: QtBot) -> None:
    view = CanvasView(CanvasDocument())
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    view.set_tool(Tool.BRUSH)
    _drag(view, [(100, 100), (200, 100)])
    assert view.document.undo_stack.count() == 0 and not view.document.has_mask()


def test_dragging_the_frame_moves_it_snapped_as_one_step(view: CanvasView) -> None:
    doc = view.document
    view.set_tool(Tool.FRAME)
    doc.set_frame(QRect(0, 0, 256, 256))
    steps = doc.undo_stack.count()
    _drag(view, [(128, 128), (150, 128), (167, 131)])
    assert doc.frame == QRect(40, 0, 256, 256)
    assert doc.undo_stack.count() == steps + 1
    doc.undo_stack.undo()
    assert doc.frame == QRect(0, 0, 256, 256)


def test_dragging_a_frame_corner_resizes_it_and_past_the_image_means_outpaint(view: CanvasView) -> None:
    doc = view.document
    view.set_tool(Tool.FRAME)
    doc.set_frame(QRect(0, 0, 256, 256))
    _drag(view, [(256, 256), (300, 300), (401, 329)])
    assert doc.frame == QRect(0, 0, 400, 328)
    assert doc.mode is Mode.OUTPAINT  # 28 px below the 300 px image


def test_the_frame_does_not_move_while_a_mask_tool_is_active(view: CanvasView) -> None:
    view.set_tool(Tool.BRUSH)
    frame = view.document.frame
    _drag(view, [(128, 128), (200, 128)])
    assert view.document.frame == frame


def test_wheel_zooms_and_fit_shows_the_whole_canvas(view: CanvasView) -> None:
    zoom = view.zoom()
    centre = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(
        centre,
        view.viewport().mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom() == pytest.approx(zoom * 1.15**2)
    view.zoom_fit()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(QRectF(view.document.rect))
    view.zoom_actual()
    assert view.zoom() == 1.0


def test_middle_button_pans_without_editing(view: CanvasView) -> None:
    view.set_zoom(4.0)
    before = view.mapToScene(view.viewport().rect().center())
    _drag(view, [(150, 150), (140, 150), (120, 150)], Qt.MouseButton.MiddleButton)
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() > before.x()
    assert view.document.undo_stack.count() == 1 and not view.document.has_mask()


def test_dropping_an_image_file_asks_to_open_it(qtbot: QtBot, view: CanvasView, tmp_path: Path) -> None:
    path = tmp_path / "drop.png"
    Image.new("RGB", (32, 32)).save(path)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(50, 50), Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(view.files_dropped) as dropped:
        view.dropEvent(event)
    assert dropped.args[0] == [str(path)]
