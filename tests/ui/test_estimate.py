"""The estimate beside Generate: measured on a finished job, remembered by the next session."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop_sd.app import generation
from desktop_sd.core import paths
from tests.app.fake_backend import FakeBackend
from tests.ui.conftest import WindowFactory


def test_a_finished_job_puts_an_estimate_beside_generate_for_this_and_the_next_session(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    backend = FakeBackend(gated=True)
    window = make_window(backend)
    window.prompt.update(steps=3)
    label = window.prompt_panel.estimate_label
    assert label.text() == ""  # nothing measured yet: no guess
    qtbot.mouseClick(window.prompt_panel.generate_button, Qt.MouseButton.LeftButton)
    for _ in range(2):  # one step at a time, each seen by the window before the next runs
        with qtbot.waitSignal(window.generation.job_progress, timeout=10_000):
            backend.allow()
    with qtbot.waitSignal(window.queue.job_finished, timeout=10_000):
        backend.allow()
    qtbot.waitUntil(lambda: label.text().startswith("about "))
    assert (paths.cache_dir() / "pace.json").is_file()
    window.prompt.update(steps=4)
    assert label.text().startswith("about ")
    assert make_window().prompt_panel.estimate_label.text().startswith("about ")  # remembered


def _run_job(qtbot: QtBot, window, backend: FakeBackend, steps: int) -> None:
    qtbot.mouseClick(window.prompt_panel.generate_button, Qt.MouseButton.LeftButton)
    for _ in range(steps - 1):
        with qtbot.waitSignal(window.generation.job_progress, timeout=10_000):
            backend.allow()
    with qtbot.waitSignal(window.queue.job_finished, timeout=10_000):
        backend.allow()


def test_a_slow_cpu_decode_offers_fast_decode_once_and_the_box_reaches_the_request(
    qtbot: QtBot, make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generation, "SLOW_DECODE_S", 0.0)  # every decode counts as slow
    backend = FakeBackend(gated=True)
    window = make_window(backend)
    window.prompt.update(steps=2)
    _run_job(qtbot, window, backend, 2)
    offers = [m.text for m in window.messages.messages() if "Fast decode" in m.text]
    assert len(offers) == 1 and "TAESD" in offers[0]
    assert not backend.requests[-1].fast_decode
    window.prompt_panel.fast_decode_check.click()
    _run_job(qtbot, window, backend, 2)
    assert backend.requests[-1].fast_decode
    assert len([m for m in window.messages.messages() if "Fast decode" in m.text]) == 1
