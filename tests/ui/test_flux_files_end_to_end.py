"""The real window with the real engine and a Flux.1 transformer file whose text encoders and VAE are
ComfyUI-style files beside it: prompt panel to the history, with nothing but the shipped configs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop_sd.cli.gui import build_window
from desktop_sd.engine.random_flow_models import build_flux_shaped, write_flux_split
from desktop_sd.library.metadata import A1111_CHUNK

pytestmark = pytest.mark.slow


def test_a_flux_file_with_split_parts_generates_into_the_history(qtbot: QtBot, tmp_path: Path) -> None:
    transformer = write_flux_split(build_flux_shaped(seed=21, guidance=False), tmp_path / "ComfyUI" / "models")
    _app, window = build_window(["--model", str(transformer)])
    window.show()
    try:
        panel = window.prompt_panel
        assert not panel.negative_edit.isEnabled() and panel.negative_tokens.isHidden()  # a Flux model
        window.prompt.update(prompt="a red fox", steps=2, width=64, height=64, seed=5, random_seed=False)
        history = window.services.history
        assert history is not None
        with qtbot.waitSignal(history.saver.saved, timeout=120_000) as saved:
            qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
        record = saved.args[1][0]
        with Image.open(record.path) as image:
            assert image.size == (64, 64)
            parameters = image.info[A1111_CHUNK]
        assert "Model: flux1-tiny" in parameters and "Model hash: " in parameters and "Seed: 5" in parameters
    finally:
        window.close()
        window.shutdown()
        window.deleteLater()
