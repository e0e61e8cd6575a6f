"""Conversions between Pillow images (what core and the engine use) and ``QImage``.

``QImage`` is safe to build on any thread (unlike ``QPixmap``), so the worker
converts previews before they cross to the GUI thread.
"""

from __future__ import annotations

from PIL import Image
from PySide6.QtGui import QImage


def pil_to_qimage(image: Image.Image) -> QImage:
    """A deep copy of ``image`` as a ``QImage`` (``L`` stays grayscale, anything else becomes RGB)."""
    if image.mode == "L":
        data = image.tobytes()
        return QImage(data, image.width, image.height, image.width, QImage.Format.Format_Grayscale8).copy()
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


def qimage_to_pil(image: QImage, mode: str = "RGB") -> Image.Image:
    """A Pillow copy of ``image`` in ``mode`` ("RGB" or "L")."""
    fmt = QImage.Format.Format_Grayscale8 if mode == "L" else QImage.Format.Format_RGB888
    converted = image if image.format() == fmt else image.convertToFormat(fmt)
    stride = converted.bytesPerLine()
    data = bytes(converted.constBits())
    return Image.frombuffer(mode, (converted.width(), converted.height()), data, "raw", mode, stride, 1).copy()
