"""Every label and button reads in full, at a small laptop screen, a common one and a large one."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory
from tests.ui.text_fit import clipped_texts

SIZES = [(1024, 700), (1280, 800), (1920, 1080)]


@pytest.mark.parametrize("with_model", [False, True], ids=["first-start", "with-a-model"])
@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_no_text_is_cut_off(
    qtbot: QtBot, make_window: WindowFactory, width: int, height: int, with_model: bool
) -> None:
    window = make_window(with_model=with_model)
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.width() == width)
    assert (window.stack.currentWidget() is window.welcome) is not with_model
    assert clipped_texts(window) == []
