"""The backend's warm-up: on the worker thread after the window paints, before the first job, stopped by quitting."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktop_sd.app.first_paint import after_first_paint
from desktop_sd.app.jobs import JobQueue
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.warm_up import import_in_steps
from tests.app.fake_backend import FakeBackend


class WarmingBackend(FakeBackend):
    """A fake backend whose warm-up takes until ``release`` is set, checking ``stop`` as the engine's does."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.warm_threads: list[str] = []
        self.stopped = False
        self.events: list[str] = []
        self.fail = False

    def warm_up(self, stop: threading.Event) -> None:
        self.warm_threads.append(threading.current_thread().name)
        self.events.append("warm-up")
        if self.fail:
            raise RuntimeError("no such library")
        while not self.release.wait(0.01):
            if stop.is_set():
                self.stopped = True
                return

    def generate(self, request, on_step, cancelled):  # type: ignore[no-untyped-def]
        self.events.append("job")
        return super().generate(request, on_step, cancelled)


@pytest.fixture
def backend() -> WarmingBackend:
    return WarmingBackend()


@pytest.fixture
def queue(backend: WarmingBackend) -> Iterator[JobQueue]:
    q = JobQueue(lambda: backend, preview_interval_s=0)
    yield q
    backend.release.set()
    q.shutdown()


def _request() -> GenerationRequest:
    return GenerationRequest(Mode.TXT2IMG, "a cat", model="fake", width=64, height=64, steps=2, seed=1)


def test_warm_up_runs_once_on_the_worker_thread_and_a_job_waits_for_it(
    qtbot: QtBot, queue: JobQueue, backend: WarmingBackend
) -> None:
    queue.warm_up()
    queue.warm_up()  # asked again (a second paint): nothing more
    qtbot.waitUntil(lambda: bool(backend.warm_threads), timeout=10_000)
    queue.submit(_request())  # the user presses Generate before the warm-up is over
    with qtbot.waitSignals([queue.warmed_up, queue.job_finished], timeout=10_000, order="strict"):
        backend.release.set()
    assert backend.events == ["warm-up", "job"]
    assert len(backend.warm_threads) == 1 and threading.main_thread().name not in backend.warm_threads


def test_quitting_during_the_warm_up_stops_it_without_waiting_for_the_end(
    qtbot: QtBot, queue: JobQueue, backend: WarmingBackend
) -> None:
    queue.warm_up()
    qtbot.waitUntil(lambda: bool(backend.warm_threads), timeout=10_000)
    # The warm-up would run until released; shutdown tells it to stop, so the thread ends in time.
    assert queue.shutdown(wait_ms=5_000)
    assert backend.stopped and not queue.abandoned


def test_a_failed_warm_up_leaves_the_first_job_to_do_the_work(
    qtbot: QtBot, queue: JobQueue, backend: WarmingBackend
) -> None:
    backend.fail = True
    with qtbot.waitSignal(queue.warmed_up, timeout=10_000):
        queue.warm_up()
    with qtbot.waitSignal(queue.job_finished, timeout=10_000):
        queue.submit(_request())


def test_no_warm_up_once_the_queue_is_shut_down(qtbot: QtBot, queue: JobQueue, backend: WarmingBackend) -> None:
    queue.shutdown()
    queue.warm_up()
    assert not backend.warm_threads


def test_after_first_paint_waits_for_the_paint(qtbot: QtBot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    calls: list[bool] = []
    after_first_paint(widget, lambda: calls.append(widget.isVisible()))
    QApplication.processEvents()  # events turn, nothing painted: nothing happens
    assert calls == []
    widget.show()
    qtbot.waitUntil(lambda: bool(calls), timeout=5_000)
    widget.repaint()  # later paints call nothing more
    QApplication.processEvents()
    assert calls == [True]


def test_import_in_steps_stops_between_modules_and_skips_missing_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ("warm_step_one", "warm_step_two", "warm_step_three")
    for name in names:
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))

    class StopAfterTwoChecks(threading.Event):
        def __init__(self) -> None:
            super().__init__()
            self.checks = 0

        def is_set(self) -> bool:
            self.checks += 1
            return self.checks > 2

    try:
        assert not import_in_steps(["warm_step_one", "warm_no_such_module", "warm_step_two"], StopAfterTwoChecks())
        assert "warm_step_one" in sys.modules and "warm_step_two" not in sys.modules  # stopped before it
        assert import_in_steps(["warm_no_such_module", "warm_step_three"], threading.Event())
        assert "warm_step_three" in sys.modules
    finally:
        for name in names:
            sys.modules.pop(name, None)
