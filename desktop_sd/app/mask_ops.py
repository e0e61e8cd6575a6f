"""Pixel work on the mask: brush dabs, the mask as the engine will use it, and its feathered preview.

The mask is an 8-bit grayscale ``QImage`` (255 = repaint). Soft brush edges
leave soft values; the engine thresholds at 50 %, so the request and the
preview both threshold the same way.
"""

from __future__ import annotations

import math

from PIL import Image, ImageFilter
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QRadialGradient

from desktop_sd.app.qimages import pil_to_qimage, qimage_to_pil

THRESHOLD = 128


def new_mask(width: int, height: int) -> QImage:
    mask = QImage(max(1, width), max(1, height), QImage.Format.Format_Grayscale8)
    mask.fill(0)
    return mask


def paint_segment(mask: QImage, start: QPointF, end: QPointF, radius: float, hardness: float, erase: bool) -> QRect:
    """Stamp round dabs from ``start`` to ``end`` (mask coordinates); returns the rectangle touched.

    ``hardness`` 1 gives a hard edge; lower values fade the outer part of the
    brush. The eraser stamps the same shape in black.
    """
    radius = max(0.5, radius)
    value = 0 if erase else 255
    painter = QPainter(mask)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    length = math.hypot(end.x() - start.x(), end.y() - start.y())
    spacing = max(1.0, radius * 0.25)
    count = max(1, math.ceil(length / spacing))
    for i in range(count + 1):
        t = i / count
        centre = QPointF(start.x() + (end.x() - start.x()) * t, start.y() + (end.y() - start.y()) * t)
        painter.setBrush(_dab_brush(centre, radius, hardness, value))
        painter.drawEllipse(centre, radius, radius)
    painter.end()
    left, right = min(start.x(), end.x()) - radius - 1, max(start.x(), end.x()) + radius + 1
    top, bottom = min(start.y(), end.y()) - radius - 1, max(start.y(), end.y()) + radius + 1
    return QRectF(left, top, right - left, bottom - top).toAlignedRect().intersected(mask.rect())


def _dab_brush(centre: QPointF, radius: float, hardness: float, value: int) -> QBrush:
    if hardness >= 0.99:
        return QBrush(QColor(value, value, value))
    gradient = QRadialGradient(centre, radius)
    gradient.setColorAt(0.0, QColor(value, value, value, 255))
    gradient.setColorAt(max(0.0, min(hardness, 0.98)), QColor(value, value, value, 255))
    gradient.setColorAt(1.0, QColor(value, value, value, 0))
    return QBrush(gradient)


def is_painted(mask: QImage, rect: QRect) -> bool:
    """Whether any pixel of ``mask`` inside ``rect`` (mask coordinates) counts as painted."""
    rect = rect.intersected(mask.rect())
    if rect.isEmpty():
        return False
    return qimage_to_pil(mask.copy(rect), "L").getextrema()[1] >= THRESHOLD


def binary_mask(mask: QImage) -> Image.Image:
    """The mask as the engine uses it: ``L``, 0 or 255."""
    return qimage_to_pil(mask, "L").point(lambda v: 255 if v >= THRESHOLD else 0)


def feathered(mask: QImage, feather: int) -> tuple[QImage, QRect]:
    """The thresholded mask with its blend band ``feather`` pixels wide, for display.

    Returns an 8-bit image of the painted region (plus the band) and where it
    sits in the mask; an empty rectangle when nothing is painted. The band
    reaches outward from the mask edge, as the engine's blend does.
    """
    hard = binary_mask(mask)
    bbox = hard.getbbox()
    if bbox is None:
        return QImage(), QRect()
    margin = feather + 2
    left, top = max(0, bbox[0] - margin), max(0, bbox[1] - margin)
    right, bottom = min(hard.width, bbox[2] + margin), min(hard.height, bbox[3] + margin)
    region = hard.crop((left, top, right, bottom))
    if feather > 0:
        half = max(1, math.ceil(feather / 2))
        region = region.filter(ImageFilter.MaxFilter(2 * half + 1)).filter(ImageFilter.BoxBlur(half))
        region = Image.composite(Image.new("L", region.size, 255), region, hard.crop((left, top, right, bottom)))
    return pil_to_qimage(region), QRect(left, top, right - left, bottom - top)
