"""The job queue and its worker thread, driven with a fake backend."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from desktop_sd.app.jobs import JobQueue
from desktop_sd.core.errors import InputError, ModelError
from desktop_sd.core.request import GenerationRequest, Mode
from tests.app.fake_backend import FakeBackend


def _request(prompt: str = "a cat", steps: int = 3, **kw: object) -> GenerationRequest:
    return GenerationRequest(Mode.TXT2IMG, prompt, model="fake", width=64, height=64, steps=steps, seed=1, **kw)


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def queue(qtbot: QtBot, backend: FakeBackend) -> Iterator[JobQueue]:
    made_on: list[str] = []

    def factory() -> FakeBackend:
        made_on.append(threading.current_thread().name)
        return backend

    q = JobQueue(factory, preview_interval_s=0)
    q.made_on = made_on  # type: ignore[attr-defined]
    yield q
    q.shutdown()


def test_a_job_runs_on_the_worker_thread_and_reports_back(qtbot: QtBot, queue: JobQueue, backend: FakeBackend) -> None:
    steps: list[tuple[int, int, bool]] = []
    queue.progress.connect(lambda _id, step, total, preview: steps.append((step, total, preview.isNull())))
    with qtbot.waitSignal(queue.job_finished, timeout=10_000) as finished:
        job_id = queue.submit(_request())
    assert finished.args[0] == job_id
    result = finished.args[1]
    assert len(result.images) == 1 and result.images[0].size == (64, 64)
    assert steps == [(1, 3, False), (2, 3, False), (3, 3, False)]
    main = threading.main_thread().name
    assert backend.thread_names and main not in backend.thread_names
    assert queue.made_on and main not in queue.made_on  # type: ignore[attr-defined]
    assert queue.running() is None and not queue.is_busy()


def test_a_queue_of_three_runs_in_order_and_is_visible_while_waiting(
    qtbot: QtBot, queue: JobQueue, backend: FakeBackend
) -> None:
    backend.gated = True
    started: list[int] = []
    finished: list[int] = []
    queue.job_started.connect(started.append)
    queue.job_finished.connect(lambda job_id, _result: finished.append(job_id))
    ids = [queue.submit(_request(f"job {n}", steps=2)) for n in range(3)]
    assert [j.id for j in queue.jobs()] == ids
    assert queue.running().id == ids[0] and [j.id for j in queue.pending()] == ids[1:]
    backend.allow(6)
    qtbot.waitUntil(lambda: len(finished) == 3, timeout=10_000)
    assert started == ids and finished == ids
    assert [r.prompt for r in backend.requests] == ["job 0", "job 1", "job 2"]


def test_cancel_stops_the_running_job_within_one_step_and_the_next_job_runs(
    qtbot: QtBot, queue: JobQueue, backend: FakeBackend
) -> None:
    backend.gated = True
    cancelled: list[int] = []
    finished: list[int] = []
    queue.job_cancelled.connect(cancelled.append)
    queue.job_finished.connect(lambda job_id, _r: finished.append(job_id))
    first = queue.submit(_request(steps=50))
    second = queue.submit(_request(steps=2))
    with qtbot.waitSignal(queue.progress, timeout=10_000):
        backend.allow(1)
    assert queue.cancel() is True
    backend.allow(1)  # the backend sees the flag at its next step
    qtbot.waitUntil(lambda: cancelled == [first], timeout=10_000)
    assert len(backend.requests) >= 1
    backend.allow(2)
    qtbot.waitUntil(lambda: finished == [second], timeout=10_000)
    assert queue.cancel() is False  # nothing running: a second cancel is harmless


def test_removing_a_waiting_job_means_it_never_runs(qtbot: QtBot, queue: JobQueue, backend: FakeBackend) -> None:
    backend.gated = True
    finished: list[int] = []
    queue.job_finished.connect(lambda job_id, _r: finished.append(job_id))
    first = queue.submit(_request("first", steps=1))
    second = queue.submit(_request("second", steps=1))
    third = queue.submit(_request("third", steps=1))
    with qtbot.waitSignal(queue.job_cancelled) as removed:
        queue.remove(second)
    assert removed.args == [second]
    assert [j.id for j in queue.jobs()] == [first, third]
    backend.allow(2)
    qtbot.waitUntil(lambda: finished == [first, third], timeout=10_000)
    assert [r.prompt for r in backend.requests] == ["first", "third"]


def test_an_error_becomes_a_message_and_the_next_job_still_runs(
    qtbot: QtBot, queue: JobQueue, backend: FakeBackend
) -> None:
    backend.fail_with = InputError("Width 13 is out of range: choose 64 to 4096 pixels.")
    with qtbot.waitSignal(queue.job_failed, timeout=10_000) as failed:
        queue.submit(_request())
    assert "choose 64 to 4096" in failed.args[1]
    backend.fail_with = RuntimeError("CUDA error: device-side assert")
    with qtbot.waitSignal(queue.job_failed, timeout=10_000) as failed:
        queue.submit(_request())
    assert "CUDA error" in failed.args[1] and "try again" in failed.args[1]
    with qtbot.waitSignal(queue.job_finished, timeout=10_000):
        queue.submit(_request())


def test_a_backend_that_cannot_start_fails_the_job_with_its_reason(qtbot: QtBot) -> None:
    def broken() -> FakeBackend:
        raise ModelError("Model 'x' is not installed and is not available offline.")

    queue = JobQueue(broken)
    try:
        with qtbot.waitSignal(queue.job_failed, timeout=10_000) as failed:
            queue.submit(_request())
        assert "not available offline" in failed.args[1]
    finally:
        queue.shutdown()


def test_progress_is_throttled_but_first_and_last_steps_always_arrive(qtbot: QtBot, backend: FakeBackend) -> None:
    queue = JobQueue(lambda: backend, preview_interval_s=60)
    steps: list[int] = []
    queue.progress.connect(lambda _id, step, _total, _preview: steps.append(step))
    try:
        with qtbot.waitSignal(queue.job_finished, timeout=10_000):
            queue.submit(_request(steps=40))
    finally:
        queue.shutdown()
    assert steps == [1, 40]


def test_shutdown_while_a_job_runs_cancels_it_and_joins_the_thread(
    qtbot: QtBot, queue: JobQueue, backend: FakeBackend
) -> None:
    backend.gated = True
    queue.submit(_request(steps=100))
    queue.submit(_request(steps=100))
    with qtbot.waitSignal(queue.progress, timeout=10_000):
        backend.allow(1)
    backend.allow(1)  # lets the running job reach its next cancellation check
    queue.shutdown()
    assert not queue._thread.isRunning()
    assert len(backend.requests) == 1  # the waiting job never started
    with pytest.raises(RuntimeError):
        queue.submit(_request())


def test_status_of_the_backend_is_reported_once_the_model_is_loaded(qtbot: QtBot, queue: JobQueue) -> None:
    statuses: list[object] = []
    queue.backend_status.connect(statuses.append)
    with qtbot.waitSignal(queue.job_finished, timeout=10_000):
        queue.submit(_request())
    qtbot.waitUntil(lambda: len(statuses) == 2)  # at the first step, and after the job
    assert statuses[0].device_name == "Fake CPU"  # type: ignore[attr-defined]
    assert queue.last_status == statuses[-1]
