"""Requests, images and a stand-in trash for the history store's tests (the gallery's tests use them too)."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from desktop_sd.core.request import GenerationRequest, Mode


def make_request(**changes: object) -> GenerationRequest:
    base = GenerationRequest(
        mode=Mode.TXT2IMG,
        prompt="a red fox in the snow",
        negative_prompt="blurry",
        model="tiny-sd",
        width=64,
        height=64,
        steps=4,
        cfg_scale=7.5,
        seed=1234,
        scheduler="euler_a",
    )
    return base.replace(**changes)


def make_image(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 64)) -> Image.Image:
    return Image.new("RGB", size, color)


class FolderTrash:
    """Stands in for the system trash: moves files into a folder and remembers them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.trashed: list[Path] = []

    def __call__(self, path: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.move(path, self.folder / f"{len(self.trashed)}-{path.name}")
        self.trashed.append(path)
