"""The canvas model: modes, requests built from the canvas, results applied, undo/redo, documents."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QPointF, QRect, QSize
from PySide6.QtGui import QColor, QImage

from desktop_sd.app import mask_ops
from desktop_sd.app.canvas_document import CanvasDocument
from desktop_sd.app.qimages import pil_to_qimage, qimage_to_pil
from desktop_sd.core.request import Borders, GenerationRequest, Mode

pytestmark = pytest.mark.usefixtures("qapp")

PARAMS = GenerationRequest(Mode.TXT2IMG, "a cat", model="m", steps=2)


def _quadrants(width: int = 512, height: int = 384) -> QImage:
    """An image whose four quadrants have different colours, so crops can be told apart."""
    image = Image.new("RGB", (width, height), (255, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 2, 0, width, height // 2), fill=(0, 255, 0))
    draw.rectangle((0, height // 2, width // 2, height), fill=(0, 0, 255))
    draw.rectangle((width // 2, height // 2, width, height), fill=(255, 255, 0))
    return pil_to_qimage(image)


def _solid(width: int, height: int, colour: tuple[int, int, int]) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(*colour))
    return image


def _paint(
    doc: CanvasDocument, start: tuple[float, float], end: tuple[float, float], radius: float = 20, erase: bool = False
) -> None:
    doc.begin_stroke()
    doc.stroke_segment(QPointF(*start), QPointF(*end), radius, 1.0, erase)
    doc.end_stroke(erase)


def _mask_at(doc: CanvasDocument, x: int, y: int) -> int:
    return doc.mask.pixelColor(x - doc.rect.x(), y - doc.rect.y()).red()


def test_mode_follows_the_canvas_state() -> None:
    doc = CanvasDocument()
    modes: list[Mode] = []
    doc.mode_changed.connect(modes.append)
    assert doc.mode is Mode.TXT2IMG
    doc.set_image(_quadrants(), "q.png")
    assert doc.mode is Mode.IMG2IMG
    _paint(doc, (100, 100), (150, 120))
    assert doc.mode is Mode.INPAINT
    doc.set_frame(QRect(-64, 0, 512, 384))
    assert doc.mode is Mode.OUTPAINT
    doc.undo_stack.undo()  # frame back inside
    doc.undo_stack.undo()  # stroke gone
    assert doc.mode is Mode.IMG2IMG
    assert modes == [Mode.IMG2IMG, Mode.INPAINT, Mode.OUTPAINT, Mode.INPAINT, Mode.IMG2IMG]


def test_txt2img_request_takes_the_frame_size_and_no_images() -> None:
    doc = CanvasDocument(QSize(768, 512))
    doc.set_frame(QRect(0, 0, 640, 448))
    request = doc.request_for(PARAMS)
    assert (request.mode, request.width, request.height) == (Mode.TXT2IMG, 640, 448)
    assert request.init_image is None and request.mask is None
    assert request.prompt == "a cat" and request.model == "m"


def test_img2img_and_inpaint_send_the_frames_region_of_image_and_mask() -> None:
    doc = CanvasDocument()
    doc.set_image(_quadrants(), "q.png")
    doc.set_frame(QRect(256, 192, 256, 192))  # the yellow quadrant
    request = doc.request_for(PARAMS)
    assert request.mode is Mode.IMG2IMG
    assert request.init_image.size == (256, 192)
    assert request.init_image.getcolors() == [(256 * 192, (255, 255, 0))]

    _paint(doc, (300, 250), (320, 250), radius=10)
    _paint(doc, (20, 20), (30, 20), radius=10)  # outside the frame: not part of this request
    request = doc.request_for(PARAMS)
    assert request.mode is Mode.INPAINT
    mask = np.asarray(request.mask)
    assert request.mask.size == (256, 192) and set(np.unique(mask)) == {0, 255}
    assert mask[250 - 192, 310 - 256] == 255 and mask[5, 5] == 0


def test_outpaint_sends_the_image_inside_the_frame_and_the_borders_past_it() -> None:
    doc = CanvasDocument()
    doc.set_image(_quadrants(), "q.png")
    doc.set_frame(QRect(-128, 0, 384, 256))
    request = doc.request_for(PARAMS)
    assert request.mode is Mode.OUTPAINT
    assert request.outpaint == Borders(128, 0, 0, 0)
    assert request.init_image.size == (256, 256)
    assert (request.width, request.height) == (384, 256)
    assert request.init_image.getpixel((10, 10)) == (255, 0, 0)
    # The panel offers no strength for outpainting: the same full strength as the command line's default.
    assert PARAMS.strength != 1.0 and request.strength == 1.0


def test_applying_an_outpaint_result_grows_the_canvas_and_undo_restores_it() -> None:
    doc = CanvasDocument()
    doc.set_image(_quadrants(), "q.png")
    doc.set_frame(QRect(-128, -64, 384, 256))
    doc.apply_result(_solid(384, 256, (10, 20, 30)), doc.frame)
    assert doc.rect == QRect(-128, -64, 640, 448)
    assert doc.image.size() == QSize(640, 448) and doc.mask.size() == QSize(640, 448)
    assert doc.image.pixelColor(0, 0).getRgb()[:3] == (10, 20, 30)  # world (-128, -64)
    assert doc.image.pixelColor(128 + 400, 64 + 10).getRgb()[:3] == (0, 255, 0)  # untouched original
    assert doc.mode is Mode.IMG2IMG  # the frame now lies inside the grown image
    doc.undo_stack.undo()
    assert doc.rect == QRect(0, 0, 512, 384)
    assert doc.image.pixelColor(0, 0).getRgb()[:3] == (255, 0, 0)
    doc.undo_stack.redo()
    assert doc.rect == QRect(-128, -64, 640, 448)


def test_a_result_on_a_blank_canvas_becomes_its_image_at_the_frames_size() -> None:
    doc = CanvasDocument(QSize(512, 512))
    doc.set_frame(QRect(64, 0, 384, 256))
    doc.apply_result(_solid(384, 256, (1, 2, 3)), doc.frame)
    assert doc.image is not None and doc.rect == QRect(64, 0, 384, 256) and doc.mode is Mode.IMG2IMG
    assert doc.image.pixelColor(383, 255).getRgb()[:3] == (1, 2, 3)
    doc.undo_stack.undo()
    assert doc.image is None and doc.rect == QRect(0, 0, 512, 512) and doc.mode is Mode.TXT2IMG


def test_each_stroke_is_one_undo_step_and_redo_repaints_it() -> None:
    doc = CanvasDocument()
    doc.set_image(_quadrants(), "q.png")
    base = doc.undo_stack.count()
    _paint(doc, (100, 100), (200, 100))
    _paint(doc, (100, 100), (200, 100), erase=True)
    assert doc.undo_stack.count() == base + 2
    assert _mask_at(doc, 150, 100) == 0
    doc.undo_stack.undo()
    assert _mask_at(doc, 150, 100) == 255
    doc.undo_stack.undo()
    assert _mask_at(doc, 150, 100) == 0
    doc.undo_stack.redo()
    assert _mask_at(doc, 150, 100) == 255


def test_clear_invert_fill_are_undoable() -> None:
    doc = CanvasDocument()
    doc.set_image(_quadrants(), "q.png")
    _paint(doc, (100, 100), (120, 100))
    doc.invert_mask()
    assert _mask_at(doc, 110, 100) == 0 and _mask_at(doc, 400, 300) == 255
    doc.clear_mask()
    assert not doc.has_mask()
    doc.fill_mask()
    assert _mask_at(doc, 0, 0) == 255 and _mask_at(doc, 511, 383) == 255
    for _ in range(3):
        doc.undo_stack.undo()
    assert _mask_at(doc, 110, 100) == 255 and _mask_at(doc, 400, 300) == 0


def test_a_frame_drag_is_one_undo_step() -> None:
    doc = CanvasDocument()
    doc.set_image(_quadrants(), "q.png")
    before = doc.frame
    count = doc.undo_stack.count()
    for dx in range(8, 80, 8):
        doc.set_frame(before.translated(-dx, 0), merge_key="drag-1")
    assert doc.undo_stack.count() == count + 1
    assert doc.frame.x() == -72
    doc.undo_stack.undo()
    assert doc.frame == before


def test_opening_an_image_is_undoable_so_the_canvas_is_never_lost() -> None:
    doc = CanvasDocument()
    doc.set_image(_quadrants(), "first.png")
    _paint(doc, (100, 100), (120, 100))
    doc.set_image(_solid(64, 64, (9, 9, 9)), "second.png")
    assert doc.rect.size() == QSize(64, 64) and not doc.has_mask()
    doc.undo_stack.undo()
    assert doc.rect.size() == QSize(512, 384) and doc.has_mask()


def test_document_round_trip_keeps_pixels_mask_frame_and_title() -> None:
    doc = CanvasDocument()
    doc.set_image(_quadrants(), "q.png")
    doc.set_frame(QRect(-64, 0, 448, 384))
    _paint(doc, (100, 100), (120, 100))
    saved = doc.to_document({"prompt": "x"})
    assert saved.size == (512, 384) and saved.frame.x == -64 and saved.prompt == {"prompt": "x"}
    assert saved.mask is not None and saved.mask.getpixel((110, 100)) == 255

    other = CanvasDocument()
    other.set_image(_solid(64, 64, (0, 0, 0)), "other.png")
    other.load_document(saved)
    assert other.undo_stack.isClean() and other.undo_stack.count() == 0
    assert other.title == "q.png" and other.frame == QRect(-64, 0, 448, 384)
    assert qimage_to_pil(other.image).tobytes() == saved.image.tobytes()
    assert _mask_at(other, 110, 100) == 255 and other.mode is Mode.OUTPAINT


def test_the_feather_preview_matches_the_engines_blend_exactly() -> None:
    """What the canvas shows around the mask is the weight the engine will composite with."""
    masks = pytest.importorskip("desktop_sd.core.masks")
    mask = Image.new("L", (160, 120), 0)
    ImageDraw.Draw(mask).ellipse((30, 20, 110, 90), fill=255)
    qmask = pil_to_qimage(mask)
    for feather in (0, 4, 8):
        shown = np.asarray(qimage_to_pil(mask_ops.feathered_region(qmask, qmask.rect(), feather), "L")).astype(int)
        used = np.rint(masks.feather_alpha(mask, feather) * 255).astype(int)
        assert np.array_equal(shown, used), feather
