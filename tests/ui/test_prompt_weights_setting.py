"""Generate > Prompt weights (A1111 syntax): on by default, kept in the settings, carried by each job."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop_sd.core.request import GenerationRequest
from desktop_sd.core.settings import Settings
from desktop_sd.ui.main_window import MainWindow
from tests.ui.conftest import WindowFactory


def generate(qtbot: QtBot, window: MainWindow) -> GenerationRequest:
    with qtbot.waitSignal(window.queue.job_finished, timeout=10_000):
        qtbot.mouseClick(window.prompt_panel.generate_button, Qt.MouseButton.LeftButton)
    request: GenerationRequest = window.backend.requests[-1]  # type: ignore[attr-defined]
    return request


def test_the_setting_reaches_the_jobs_the_counter_and_the_settings_file(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    action = window.actions_.prompt_weights
    assert action.isCheckable() and action.isChecked()
    generate_menu = next(m.menu() for m in window.menuBar().actions() if m.text() == "&Generate")
    assert action in generate_menu.actions()
    window.prompt.update(prompt="a (red:1.3) fox", steps=2, width=64, height=64, clip_skip=2)
    first = generate(qtbot, window)
    assert first.prompt_weights and first.clip_skip == 2
    window.prompt_panel._counter.load_now()
    assert window.prompt_panel.prompt_tokens.text() == "3 / 75"  # "a red fox": the syntax is not counted
    action.trigger()
    assert not window.settings.prompt_weights
    assert window.prompt_panel.prompt_tokens.text() == "9 / 75"  # brackets, colon and number are words now
    assert not generate(qtbot, window).prompt_weights
    window.save_settings()
    assert Settings.load().prompt_weights is False
    again = make_window()
    assert not again.actions_.prompt_weights.isChecked() and not again.prompt.values.prompt_weights


def test_reusing_an_image_restores_clip_skip_and_names_missing_embeddings(make_window: WindowFactory) -> None:
    window = make_window()
    used = GenerationRequest.from_parameters(
        {
            "mode": "txt2img",
            "prompt": "a fox",
            "negative_prompt": "ghostneg",
            "clip_skip": 2,
            "ti_hashes": "ghostneg: 01",
        }
    )
    window.reuse(used)  # as "Reuse parameters" in the history does
    assert window.prompt.values.clip_skip == 2 and window.prompt_panel.clip_skip_spin.value() == 2
    assert any("not installed: ghostneg" in m.text for m in window.messages.messages())
