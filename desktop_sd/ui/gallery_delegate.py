"""Paints one gallery tile: the thumbnail centred in its cell, selection, focus and a favourite star.

The standard delegate asks the model for a dozen roles per tile, each a call
from C++ into Python; this one makes a single call into the model per tile,
which keeps painting (and the GUI thread) cheap while scrolling fast.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop_sd.app.gallery_model import GalleryModel

STAR = "★"


class ThumbnailDelegate(QStyledItemDelegate):
    def __init__(self, model: GalleryModel, cell: QSize, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.cell = cell
        self._star_font = QFont()
        self._star_font.setPixelSize(max(12, cell.height() // 8))
        self._fits: dict[int, tuple[int, int, int, int]] = {}  # image cache key -> placement

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.cell

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        # Few calls into Qt per tile: each one is a hand-over of Python's lock while thumbnails load.
        rect: QRect = option.rect
        state = option.state
        row = index.row()
        if state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect.adjusted(1, 1, -1, -1), option.palette.color(QPalette.ColorRole.Highlight))
        image, favourite = self.model.tile(row)
        key = image.cacheKey()
        fit = self._fits.get(key)
        if fit is None:
            fit = self._fit(image)
            if len(self._fits) > 4096:
                self._fits.clear()
            self._fits[key] = fit
        dx, dy, width, height = fit
        painter.drawImage(QRect(rect.x() + dx, rect.y() + dy, width, height), image)
        if favourite:
            painter.setFont(self._star_font)
            painter.setPen(QColor(255, 200, 40))
            painter.drawText(rect.adjusted(6, 4, -6, -4), Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight, STAR)
        if state & QStyle.StateFlag.State_HasFocus:
            pen = painter.pen()
            painter.setPen(option.palette.color(QPalette.ColorRole.Highlight).lighter(130))
            painter.drawRect(rect.adjusted(1, 1, -2, -2))
            painter.setPen(pen)

    def _fit(self, image: QImage) -> tuple[int, int, int, int]:
        """Offset and size of an image centred in a cell, scaled down to fit (never up)."""
        cell, pw, ph = self.cell, image.width(), image.height()
        room_w, room_h = cell.width() - 8, cell.height() - 8
        scale = min(1.0, room_w / max(1, pw), room_h / max(1, ph))
        width, height = max(1, round(pw * scale)), max(1, round(ph * scale))
        return (cell.width() - width) // 2, (cell.height() - height) // 2, width, height
