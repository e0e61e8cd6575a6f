"""Results go to the history as they finish; a failed save keeps them in memory for a retry."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from desktop_sd.app.result_saver import ResultSaver
from desktop_sd.core.errors import LibraryError
from desktop_sd.core.provenance import NO_PROVENANCE, Provenance
from desktop_sd.core.request import GenerationRequest, GenerationResult, MemoryTier, Mode


def _result(count: int = 3) -> GenerationResult:
    request = GenerationRequest(Mode.TXT2IMG, "a fox", model="m", width=64, height=64, seed=10, batch_size=count)
    images = tuple(Image.new("RGB", (64, 64), (i * 40, 0, 0)) for i in range(count))
    return GenerationResult(images, request, tuple(10 + i for i in range(count)), "m", "cpu", MemoryTier.GPU)


class FlakyStore:
    """Accepts ``ok`` images, then fails as a full disk would, until ``ok`` is raised again."""

    def __init__(self, ok: int) -> None:
        self.ok = ok
        self.saved: list[tuple[int | None, int, str]] = []
        self.threads: set[str] = set()

    def add(
        self,
        image: Any,
        request: GenerationRequest,
        model_id: str,
        parent_id: int | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> int:
        self.threads.add(threading.current_thread().name)
        if len(self.saved) >= self.ok:
            raise LibraryError("Could not save the image in /full: No space left on device. Free some space.")
        self.saved.append((request.seed, request.batch_size, model_id))
        return len(self.saved)


@pytest.fixture
def make_saver() -> Iterator[Any]:
    savers: list[ResultSaver] = []

    def make(store: Any) -> ResultSaver:
        saver = ResultSaver(store)
        savers.append(saver)
        return saver

    yield make
    for saver in savers:
        saver.shutdown()


def test_each_image_is_saved_off_the_gui_thread_with_its_own_seed(qtbot: QtBot, make_saver: Any) -> None:
    store = FlakyStore(ok=10)
    saver = make_saver(store)
    with qtbot.waitSignal(saver.saved, timeout=10_000) as saved:
        saver.save(1, _result(3))
    assert saved.args[0] == 1 and len(saved.args[1]) == 3
    assert store.saved == [(10, 1, "m"), (11, 1, "m"), (12, 1, "m")]
    assert threading.main_thread().name not in store.threads
    assert saver.unsaved_count() == 0


def test_a_failed_save_keeps_the_rest_in_memory_and_retry_saves_only_those(qtbot: QtBot, make_saver: Any) -> None:
    store = FlakyStore(ok=1)
    saver = make_saver(store)
    with qtbot.waitSignal(saver.save_failed, timeout=10_000) as failed:
        saver.save(7, _result(3))
    assert "No space left" in failed.args[1]
    assert saver.unsaved_count() == 2
    assert [request.seed for _image, request in saver.unsaved()] == [11, 12]
    store.ok = 10
    with qtbot.waitSignal(saver.saved, timeout=10_000):
        saver.retry()
    assert [seed for seed, _b, _m in store.saved] == [10, 11, 12]
    assert saver.unsaved_count() == 0


def test_another_store_takes_over_after_choosing_another_folder(qtbot: QtBot, make_saver: Any) -> None:
    broken, fresh = FlakyStore(ok=0), FlakyStore(ok=10)
    saver = make_saver(broken)
    with qtbot.waitSignal(saver.save_failed, timeout=10_000):
        saver.save(1, _result(2))
    saver.set_store(fresh)
    with qtbot.waitSignal(saver.saved, timeout=10_000):
        saver.retry()
    assert len(fresh.saved) == 2 and saver.unsaved_count() == 0


def test_without_a_store_results_wait_in_memory(make_saver: Any) -> None:
    saver = make_saver(None)
    saver.save(1, _result(2))
    assert saver.unsaved_count() == 2


def test_results_land_in_the_real_history_library(qtbot: QtBot, make_saver: Any, tmp_path: Path) -> None:
    store = pytest.importorskip("desktop_sd.library.store")
    library = store.Library.open(tmp_path / "library", reconcile=False)
    try:
        saver = make_saver(library)
        with qtbot.waitSignal(saver.saved, timeout=20_000) as saved:
            saver.save(1, _result(2))
        records = saved.args[1]
        assert len(records) == 2 and library.count() == 2
        assert all(r.path.is_file() for r in records)
        assert sorted(r.seed for r in records) == [10, 11]
    finally:
        saver.shutdown()
        library.close()


def test_waiting_for_saves_lets_a_save_in_progress_finish(make_saver: Any) -> None:
    release = threading.Event()

    class SlowStore(FlakyStore):
        def add(self, *args: Any, **kwargs: Any) -> int:
            release.wait(10)
            return super().add(*args, **kwargs)

    store = SlowStore(ok=10)
    saver = make_saver(store)
    saver.save(1, _result(2))
    assert saver.unsaved_count() == 2
    threading.Timer(0.05, release.set).start()
    assert saver.wait_for_saves(10_000)
    assert saver.unsaved_count() == 0 and len(store.saved) == 2
