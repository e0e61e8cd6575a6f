"""After a crash: offer the canvas back, showing what would be restored."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop_sd.app.qimages import pil_to_qimage
from desktop_sd.core.document import Document

THUMBNAIL = 200


def recovery_box(parent: QWidget, doc: Document, when: datetime | None) -> QMessageBox:
    """The question, with a thumbnail of the canvas (image and mask) it would restore."""
    stamp = f" from {when:%Y-%m-%d %H:%M}" if when is not None else ""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Recover your canvas?",
        f"Desktop SD did not close normally last time. Recover the canvas{stamp}?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setDefaultButton(QMessageBox.StandardButton.Yes)
    if doc.image is not None:
        preview = doc.image.convert("RGB")
        if doc.mask is not None:  # the painted mask shows in red, as on the canvas
            from PIL import Image

            red = Image.new("RGB", preview.size, (220, 40, 40))
            preview = Image.composite(red, preview, doc.mask.convert("L").point(lambda v: v // 2))
        pixmap = QPixmap.fromImage(pil_to_qimage(preview)).scaled(
            THUMBNAIL, THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        box.setIconPixmap(pixmap)
    return box


def ask_recovery(parent: QWidget, doc: Document, when: datetime | None) -> bool:
    return recovery_box(parent, doc, when).exec() == QMessageBox.StandardButton.Yes
