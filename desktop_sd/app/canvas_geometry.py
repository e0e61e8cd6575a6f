"""Pure rules of the canvas: where the frame may sit and which mode a canvas state means.

Coordinates are world coordinates: the image (or a blank canvas) covers
``image_rect``; the generation frame is another rectangle that may reach past
it. Nothing here touches pixels.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRect

from desktop_sd.core.params import HEIGHT, WIDTH
from desktop_sd.core.request import Borders, Mode

GRID = 8
# The sides a frame may have: what both width and height accept.
MIN_SIDE = max(WIDTH.minimum, HEIGHT.minimum)
MAX_SIDE = min(WIDTH.maximum, HEIGHT.maximum)


def _round8(value: float) -> int:
    return math.floor(value / GRID + 0.5) * GRID  # halves round up, the same way in every direction


def snap_size(value: float) -> int:
    """A frame side: a multiple of 8 between the smallest and largest size a model accepts."""
    return min(MAX_SIDE, max(MIN_SIDE, _round8(value)))


def snap_frame(frame: QRect, image_rect: QRect) -> QRect:
    """Snap size to multiples of 8 and position to the 8-pixel grid of the image.

    A frame edge closer than 8 pixels to an image edge sticks to it, so an image whose
    sides are not multiples of 8 can still be covered exactly (no sliver of outpainting).
    """
    width, height = snap_size(frame.width()), snap_size(frame.height())
    x = _snap_axis(frame.x(), width, image_rect.x(), image_rect.x() + image_rect.width())
    y = _snap_axis(frame.y(), height, image_rect.y(), image_rect.y() + image_rect.height())
    return QRect(x, y, width, height)


def _snap_axis(start: int, length: int, lo: int, hi: int) -> int:
    edge = min((lo, hi - length), key=lambda e: abs(start - e))
    if abs(start - edge) < GRID:
        return edge
    return lo + _round8(start - lo)


def default_frame(image_rect: QRect, preferred: tuple[int, int] = (WIDTH.default, HEIGHT.default)) -> QRect:
    """The frame a freshly opened image or blank canvas gets.

    The whole image when it is small enough to generate at once, else a frame
    of the preferred size in the middle of it.
    """
    limit = max(preferred[0], preferred[1], 1024)
    if image_rect.width() <= limit and image_rect.height() <= limit:
        width = max(MIN_SIDE, image_rect.width() // GRID * GRID)
        height = max(MIN_SIDE, image_rect.height() // GRID * GRID)
        return QRect(image_rect.x(), image_rect.y(), width, height)
    width, height = snap_size(preferred[0]), snap_size(preferred[1])
    x = image_rect.x() + _round8((image_rect.width() - width) / 2)
    y = image_rect.y() + _round8((image_rect.height() - height) / 2)
    return QRect(x, y, width, height)


def outpaint_borders(frame: QRect, image_rect: QRect) -> Borders:
    """How far the frame reaches past the image on each side (0 where it does not)."""
    return Borders(
        left=max(0, image_rect.x() - frame.x()),
        top=max(0, image_rect.y() - frame.y()),
        right=max(0, (frame.x() + frame.width()) - (image_rect.x() + image_rect.width())),
        bottom=max(0, (frame.y() + frame.height()) - (image_rect.y() + image_rect.height())),
    )


def canvas_mode(has_image: bool, image_rect: QRect, frame: QRect, mask_in_frame: bool) -> Mode:
    """The mode a canvas state asks for.

    Nothing under the frame: txt2img. Frame reaching past the image: outpaint.
    Mask painted inside the frame: inpaint. Otherwise img2img.
    """
    if not has_image or not frame.intersects(image_rect):
        return Mode.TXT2IMG
    if not image_rect.contains(frame):
        return Mode.OUTPAINT
    return Mode.INPAINT if mask_in_frame else Mode.IMG2IMG
