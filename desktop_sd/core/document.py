"""The open canvas as plain data: what autosave snapshots and a project file holds.

The canvas widget builds a ``Document`` from its state and restores itself
from one; ``core.document_io`` reads and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, eq=False)
class Document:
    """Image (RGB) and mask (L, 255 = repaint, same size as the image) in canvas coordinates.

    ``frame`` is the generation frame; it may extend past the image (outpainting).
    ``image`` is None for a blank canvas of ``size``. ``prompt`` holds the prompt
    panel's settings at the time (plain JSON data) so a recovered session is whole.
    """

    size: tuple[int, int]
    image: Image.Image | None = field(default=None, repr=False)
    mask: Image.Image | None = field(default=None, repr=False)
    frame: Rect | None = None
    title: str = "Untitled"
    prompt: dict[str, object] = field(default_factory=dict)
