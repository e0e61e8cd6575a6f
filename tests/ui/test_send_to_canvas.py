"""Images from the history placed in the frame as a candidate, with or without the parameters that made them."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.library.metadata import png_info
from tests.ui.conftest import WindowFactory


def test_an_image_without_parameters_becomes_a_candidate_without_a_seed(
    make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    path = tmp_path / "plain.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(path)

    window.files.send_to_canvas(str(path), as_init=True)

    assert len(window.candidates) == 1 and window.candidates.current().request is None
    assert window.view.preview_item.isVisible()
    assert window.view.preview_item.caption == "Candidate 1 of 1"


def test_an_image_with_parameters_shows_its_seed(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    path = tmp_path / "made.png"
    request = GenerationRequest(Mode.TXT2IMG, "a fox", seed=42, width=64, height=64)
    Image.new("RGB", (64, 64), (30, 200, 30)).save(path, pnginfo=png_info(request, "tiny-sd"))

    window.files.send_to_canvas(str(path), as_init=True)

    assert window.view.preview_item.caption == "Candidate 1 of 1  ·  seed 42"
