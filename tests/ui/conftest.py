"""A main window wired to a fake backend, for the widget tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop_sd.app.history import History
from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.model_choices import ModelChoices
from desktop_sd.app.result_saver import ResultSaver
from desktop_sd.app.tokens import TokenCounter
from desktop_sd.core.settings import Settings
from desktop_sd.ui import questions
from desktop_sd.ui.main_window import MainWindow, WindowServices
from tests.app.fake_backend import FakeBackend

WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def fake_model_dir(tmp_path: Path) -> Path:
    """A folder the model picker accepts (a diffusers layout with no weights)."""
    folder = tmp_path / "fake-model"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text("{}", encoding="utf-8")
    (folder / "unet" / "config.json").write_text('{"cross_attention_dim": 768, "in_channels": 4}', encoding="utf-8")
    return folder


@pytest.fixture
def make_window(qtbot: QtBot, fake_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WindowFactory]:
    """Windows made here are closed at the end as a user who discards unsaved work would."""
    windows: list[MainWindow] = []

    def make(
        backend: FakeBackend | None = None, with_model: bool = True, store: Any = None, **services: Any
    ) -> MainWindow:
        backend = backend if backend is not None else FakeBackend()
        models = ModelChoices()
        if with_model:
            models.add_path(fake_model_dir)
        window = MainWindow(
            WindowServices(
                settings=Settings.load(),
                queue=JobQueue(lambda: backend, preview_interval_s=0),
                models=models,
                tokens=TokenCounter(),
                history=History(None, ResultSaver(store)),
                **services,
            )
        )
        window.backend = backend  # type: ignore[attr-defined]
        windows.append(window)
        return window

    yield make
    discard = QMessageBox.StandardButton.Discard
    monkeypatch.setattr(questions, "ask_save_discard", lambda *_a, **_k: discard)
    for window in windows:
        window.close()
        window.shutdown()
        window.deleteLater()
