"""Images in and out of the canvas: opening files (with clear errors) and exporting PNGs with metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QImage

from desktop_sd.app.qimages import pil_to_qimage, qimage_to_pil
from desktop_sd.core.atomic import atomic_write_bytes
from desktop_sd.core.disk_errors import describe_os_error
from desktop_sd.core.errors import InputError
from desktop_sd.core.images import MAX_INPUT_PIXELS, normalize_image, open_image
from desktop_sd.core.request import GenerationRequest
from desktop_sd.library.metadata import encode_png, read_parameters
from desktop_sd.library.parsed import ParsedParameters

PROJECT_SUFFIX = ".sdproj"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
OPEN_FILTER = f"Images and projects (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *{PROJECT_SUFFIX});;{IMAGE_FILTER}"


@dataclass(frozen=True)
class OpenedImage:
    image: QImage
    title: str
    notices: tuple[str, ...]
    parameters: ParsedParameters | None  # generation settings the file carries, if any


def load_image_file(path: str | Path) -> OpenedImage:
    """Open an image file for the canvas. Raises ``InputError`` naming the problem."""
    path = Path(path)
    image, notices = open_image(path)
    return OpenedImage(pil_to_qimage(image), path.name, tuple(notices), read_parameters(path))


def image_from_clipboard(image: QImage) -> tuple[QImage, list[str]]:
    """Normalise a pasted or dropped image as a file would be (alpha flattened, size checked)."""
    if image.isNull():
        raise InputError("The clipboard holds no image. Copy an image first, or use File > Open.")
    if image.width() * image.height() > MAX_INPUT_PIXELS:
        raise InputError(
            f"The pasted image is {image.width()}x{image.height()} pixels, too large "
            f"(limit {MAX_INPUT_PIXELS // 1_000_000} megapixels). Scale it down first."
        )
    if image.hasAlphaChannel():
        pil = qimage_to_pil(image.convertToFormat(QImage.Format.Format_RGBA8888), "RGBA")
        normalized, notices = normalize_image(pil)
        return pil_to_qimage(normalized), notices
    return image, []


def export_png(image: QImage, path: str | Path, request: GenerationRequest | None, model_id: str = "") -> Path:
    """Write ``image`` as a PNG, atomically, with A1111 and Desktop SD metadata when ``request`` is known.

    Raises ``InputError`` with the reason when the file cannot be written.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_suffix(".png")
    model_name = model_id or (request.model if request is not None else "")
    data = encode_png(qimage_to_pil(image), request, model_name)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise InputError(f"Could not save {path.name} in {path.parent}: {describe_os_error(exc)}") from None
    return path
