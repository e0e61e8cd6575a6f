"""Pixel work on the mask: brush dabs, the mask as the engine will use it, and its feathered preview.

The mask is an 8-bit grayscale ``QImage`` (255 = repaint). Soft brush edges
leave soft values; the engine thresholds at 50 %, so the request and the
preview both threshold the same way.
"""

from __future__ import annotations

import math

from PIL import Image, ImageChops
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
    highest = qimage_to_pil(mask.copy(rect), "L").getextrema()[1]
    assert isinstance(highest, int | float)  # one band, so (min, max) of numbers
    return highest >= THRESHOLD


def binary_mask(mask: QImage) -> Image.Image:
    """The mask as the engine uses it: ``L``, 0 or 255."""
    return qimage_to_pil(mask, "L").point(lambda v: 255 if v >= THRESHOLD else 0)


def painted_rect(mask: QImage, feather: int) -> QRect:
    """Where the feathered mask can be non-zero: the painted bounding box grown by ``feather``."""
    bbox = binary_mask(mask).getbbox()
    if bbox is None:
        return QRect()
    rect = QRect(bbox[0], bbox[1], bbox[2] - bbox[0], bbox[3] - bbox[1])
    return rect.adjusted(-feather, -feather, feather, feather).intersected(mask.rect())


def feathered_region(mask: QImage, rect: QRect, feather: int) -> QImage:
    """The blend weight (0-255) generation will use for each pixel of ``rect`` (mask coordinates).

    The same rule as the engine's compositing: 255 inside the thresholded mask,
    falling linearly with the (Euclidean) distance to 0 at ``feather`` pixels
    outside it. Only ``rect`` plus a ``feather`` margin is read, so callers can
    work through a large mask a strip at a time.
    """
    rect = rect.intersected(mask.rect())
    if rect.isEmpty():
        return QImage()
    f = max(0, feather)
    source = rect.adjusted(-f, -f, f, f).intersected(mask.rect())
    hard = binary_mask(mask.copy(source))
    # Pad so every shifted window stays inside the image; the padding counts as unpainted.
    padded = Image.new("L", (hard.width + 2 * f, hard.height + 2 * f), 0)
    padded.paste(hard, (f, f))
    ox, oy = rect.x() - source.x() + f, rect.y() - source.y() + f
    w, h = rect.width(), rect.height()
    out = padded.crop((ox, oy, ox + w, oy + h))
    for d2, offsets in _RINGS.get(f) or _rings(f):
        ring = None
        for dx, dy in offsets:
            shifted = padded.crop((ox + dx, oy + dy, ox + dx + w, oy + dy + h))
            ring = shifted if ring is None else ImageChops.lighter(ring, shifted)
        if ring is not None and ring.getbbox() is not None:
            weight = 1.0 - math.sqrt(d2) / (f + 1)
            out = ImageChops.lighter(out, ring.point([round(v * weight) for v in range(256)]))
    return pil_to_qimage(out)


_RINGS: dict[int, list[tuple[int, list[tuple[int, int]]]]] = {}


def _rings(feather: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """Offsets within ``feather`` pixels, grouped by squared distance (each group shares one weight)."""
    groups: dict[int, list[tuple[int, int]]] = {}
    for dy in range(-feather, feather + 1):
        for dx in range(-feather, feather + 1):
            d2 = dx * dx + dy * dy
            if 0 < d2 <= feather * feather:
                groups.setdefault(d2, []).append((dx, dy))
    _RINGS[feather] = sorted(groups.items())
    return _RINGS[feather]
