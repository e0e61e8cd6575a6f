"""The canvas rules: frame snapping, the mode a canvas state means, outpaint borders."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect

from desktop_sd.app.canvas_geometry import canvas_mode, default_frame, outpaint_borders, snap_frame
from desktop_sd.core.request import Borders, Mode

IMAGE = QRect(0, 0, 500, 375)


def test_frame_size_snaps_to_multiples_of_8_within_model_limits() -> None:
    snapped = snap_frame(QRect(13, 21, 203, 517), IMAGE)
    assert (snapped.width(), snapped.height()) == (200, 520)
    assert snapped.x() % 8 == 0 and snapped.y() % 8 == 0
    tiny = snap_frame(QRect(0, 0, 10, 3), IMAGE)
    assert (tiny.width(), tiny.height()) == (64, 64)
    huge = snap_frame(QRect(0, 0, 99999, 512), IMAGE)
    assert huge.width() == 4096


def test_frame_edges_stick_to_image_edges_that_are_off_the_grid() -> None:
    # The image is 500 wide: a 256 frame dragged to the right edge ends exactly at 500, not at 496 or 504.
    snapped = snap_frame(QRect(246, 0, 256, 256), IMAGE)
    assert snapped.x() + snapped.width() == 500
    bottom = snap_frame(QRect(0, 115, 256, 256), IMAGE)
    assert bottom.y() + bottom.height() == 375


@pytest.mark.parametrize(
    ("has_image", "frame", "painted", "mode"),
    [
        (False, QRect(0, 0, 512, 512), False, Mode.TXT2IMG),
        (True, QRect(0, 0, 496, 368), False, Mode.IMG2IMG),
        (True, QRect(0, 0, 496, 368), True, Mode.INPAINT),
        (True, QRect(-64, 0, 512, 368), False, Mode.OUTPAINT),
        (True, QRect(-64, 0, 512, 368), True, Mode.OUTPAINT),
        (True, QRect(600, 0, 256, 256), False, Mode.TXT2IMG),  # nothing of the image under the frame
    ],
)
def test_mode_follows_the_canvas(has_image: bool, frame: QRect, painted: bool, mode: Mode) -> None:
    assert canvas_mode(has_image, IMAGE, frame, painted) is mode


def test_outpaint_borders_are_the_parts_of_the_frame_past_the_image() -> None:
    assert outpaint_borders(QRect(-64, -8, 640, 400), IMAGE) == Borders(64, 8, 76, 17)
    assert outpaint_borders(QRect(0, 0, 496, 368), IMAGE) == Borders()


def test_default_frame_covers_a_small_image_and_centres_on_a_large_one() -> None:
    assert default_frame(IMAGE) == QRect(0, 0, 496, 368)
    large = default_frame(QRect(0, 0, 4000, 3000), (512, 768))
    assert (large.width(), large.height()) == (512, 768)
    assert abs(large.center().x() - 2000) <= 8 and abs(large.center().y() - 1500) <= 8
