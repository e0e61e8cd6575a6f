"""Autosave in one process: when it writes, where, off which thread, and what recovery offers."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from pytestqt.qtbot import QtBot

from desktop_sd.app import autosave as autosave_module
from desktop_sd.app.autosave import SNAPSHOT_NAME, Autosave, default_folder
from desktop_sd.core.document import Document, Rect
from desktop_sd.core.document_io import load_document, save_document


def make_document(seed: int, size: tuple[int, int] = (48, 40)) -> Document:
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    mask = Image.frombytes("L", size, bytes(rng.choice((0, 255)) for _ in range(size[0] * size[1])))
    return Document(size=size, image=image, mask=mask, frame=Rect(-8, 0, 64, 40), prompt={"seed": seed})


def same_pixels(a: Image.Image | None, b: Image.Image | None) -> bool:
    assert a is not None and b is not None
    return a.mode == b.mode and a.size == b.size and ImageChops.difference(a, b).getbbox() is None


class Canvas:
    """Stands in for the window: holds the document the snapshot callable returns."""

    def __init__(self, doc: Document | None = None) -> None:
        self.doc = doc

    def __call__(self) -> Document | None:
        return self.doc


@pytest.fixture
def make_autosave(qapp: object) -> Iterator[Callable[..., Autosave]]:
    """Autosaves that have finished writing by the end of the test (timers need the ``qapp``)."""
    made: list[Autosave] = []

    def make(canvas: Callable[[], Document | None], interval_s: float = 60, folder: Path | None = None) -> Autosave:
        autosave = Autosave(canvas, folder or default_folder(), interval_s=interval_s)
        made.append(autosave)
        return autosave

    yield make
    for autosave in made:
        autosave.wait_idle()


def test_default_folder_is_under_the_user_data_folder(isolated_home: Path) -> None:
    assert default_folder() == isolated_home / "data" / "autosave"


def test_snapshot_now_writes_the_canvas_off_the_gui_thread(
    qtbot: QtBot, make_autosave: Callable[..., Autosave], monkeypatch: pytest.MonkeyPatch
) -> None:
    writers: list[threading.Thread] = []

    def recording_save(doc: Document, path: Path, **kwargs: int) -> None:
        writers.append(threading.current_thread())
        save_document(doc, path, **kwargs)

    monkeypatch.setattr(autosave_module, "save_document", recording_save)
    canvas = Canvas(make_document(1))
    autosave = make_autosave(canvas)
    autosave.start()

    with qtbot.waitSignal(autosave.snapshot_written, timeout=10_000) as blocker:
        autosave.snapshot_now()

    path = Path(blocker.args[0])
    assert path == autosave.snapshot_path() and path.parent.parent == default_folder()
    loaded = load_document(path)
    assert same_pixels(loaded.image, canvas.doc.image) and same_pixels(loaded.mask, canvas.doc.mask)
    assert loaded.frame == canvas.doc.frame
    assert writers and all(t is not threading.main_thread() for t in writers)
    assert sorted(p.name for p in path.parent.iterdir()) == [SNAPSHOT_NAME]  # no temp files left


def test_a_change_is_snapshotted_within_the_interval(qtbot: QtBot, make_autosave: Callable[..., Autosave]) -> None:
    canvas = Canvas(make_document(2))
    autosave = make_autosave(canvas, interval_s=0.05)
    autosave.start()

    with qtbot.waitSignal(autosave.snapshot_written, timeout=10_000):
        autosave.mark_dirty()

    assert same_pixels(load_document(autosave.snapshot_path()).image, canvas.doc.image)


def test_a_snapshot_follows_a_few_seconds_after_the_last_change(make_autosave: Callable[..., Autosave]) -> None:
    autosave = make_autosave(Canvas(make_document(3)), interval_s=60)
    autosave.start()
    assert autosave.seconds_until_snapshot() is None  # nothing changed, nothing due

    autosave.snapshot_now()
    autosave.mark_dirty()  # a stroke: saved once the user pauses, not a minute later
    first = autosave.seconds_until_snapshot()
    assert first is not None and 0 < first <= 3


def test_edits_that_never_pause_are_still_saved_within_the_interval(
    make_autosave: Callable[..., Autosave], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr("desktop_sd.app.autosave.time.monotonic", lambda: now[0])
    autosave = make_autosave(Canvas(make_document(3)), interval_s=10)
    autosave.start()
    autosave.mark_dirty()
    now[0] += 8.5  # strokes for 8.5 s without a 3 s pause
    autosave.mark_dirty()
    second = autosave.seconds_until_snapshot()
    assert second is not None and second <= 1.5  # the interval since the first change is the limit
    autosave.snapshot_now()  # an applied result snapshots at once and clears the timer
    assert autosave.seconds_until_snapshot() is None


def test_discard_on_clean_exit_leaves_nothing_to_recover(qtbot: QtBot, make_autosave: Callable[..., Autosave]) -> None:
    autosave = make_autosave(Canvas(make_document(4)))
    autosave.start()
    with qtbot.waitSignal(autosave.snapshot_written, timeout=10_000):
        autosave.snapshot_now()

    autosave.discard()

    assert autosave.snapshot_path() is None
    assert list(default_folder().iterdir()) == []
    assert make_autosave(Canvas()).pending_recovery() is None


def test_a_snapshot_owned_by_a_running_instance_is_not_offered(
    qtbot: QtBot, make_autosave: Callable[..., Autosave]
) -> None:
    running = make_autosave(Canvas(make_document(5)))
    running.start()
    with qtbot.waitSignal(running.snapshot_written, timeout=10_000):
        running.snapshot_now()

    newcomer = make_autosave(Canvas())
    newcomer.start()

    assert newcomer.pending_recovery() is None
    assert running.snapshot_path() is not None and running.snapshot_path().exists()


def leave_crashed_session(name: str, doc: Document) -> Path:
    """A session folder whose owner is gone: a snapshot and no live lock."""
    folder = default_folder() / name
    folder.mkdir(parents=True)
    save_document(doc, folder / SNAPSHOT_NAME)
    (folder / ".snapshot.sdproj.123-abcdef.tmp").write_bytes(b"half a write")
    return folder


def test_a_crashed_session_is_offered_once_and_adopted(make_autosave: Callable[..., Autosave]) -> None:
    lost = make_document(6)
    crashed = leave_crashed_session("20240101-000000-4242-aaaaaa", lost)
    autosave = make_autosave(Canvas())
    autosave.start()

    recovered = autosave.pending_recovery()

    assert recovered is not None
    assert same_pixels(recovered.image, lost.image) and same_pixels(recovered.mask, lost.mask)
    assert recovered.frame == lost.frame and recovered.prompt == lost.prompt
    assert autosave.recovered_at is not None
    assert not crashed.exists()  # adopted: it now lives in this run's session
    assert autosave.snapshot_path() is not None
    assert autosave.pending_recovery() is None

    autosave.discard()  # the user declined, or exited cleanly
    assert list(default_folder().iterdir()) == []


def test_a_damaged_snapshot_is_kept_aside_and_the_next_one_offered(
    make_autosave: Callable[..., Autosave],
) -> None:
    older = make_document(7)
    leave_crashed_session("20240101-000000-1-older0", older)
    damaged = default_folder() / "20240102-000000-2-newer0"
    damaged.mkdir()
    (damaged / SNAPSHOT_NAME).write_bytes(b"PK\x03\x04 not a whole zip")

    recovered = make_autosave(Canvas()).pending_recovery()

    assert recovered is not None and same_pixels(recovered.image, older.image)
    kept = [p.name for p in damaged.iterdir()]
    assert len(kept) == 1 and kept[0].startswith("damaged-")


def test_an_empty_canvas_removes_the_snapshot(qtbot: QtBot, make_autosave: Callable[..., Autosave]) -> None:
    canvas = Canvas(make_document(8))
    autosave = make_autosave(canvas)
    autosave.start()
    with qtbot.waitSignal(autosave.snapshot_written, timeout=10_000):
        autosave.snapshot_now()

    canvas.doc = None
    autosave.snapshot_now()
    assert autosave.wait_idle()

    assert autosave.snapshot_path() is None


def test_an_unwritable_folder_is_reported_not_raised(
    qtbot: QtBot, make_autosave: Callable[..., Autosave], tmp_path: Path
) -> None:
    blocker_file = tmp_path / "not-a-folder"
    blocker_file.write_text("x")
    autosave = make_autosave(Canvas(make_document(9)), folder=blocker_file / "autosave")

    with qtbot.waitSignal(autosave.snapshot_failed, timeout=10_000) as started:
        autosave.start()
    with qtbot.waitSignal(autosave.snapshot_failed, timeout=10_000) as snapshot:
        autosave.snapshot_now()

    assert started.args[0].startswith("Autosave is off")
    assert snapshot.args[0].startswith("Autosave failed")
    assert autosave.pending_recovery() is None


def test_a_canvas_that_cannot_be_read_is_reported_not_raised(
    qtbot: QtBot, make_autosave: Callable[..., Autosave]
) -> None:
    def broken() -> Document:
        raise RuntimeError("canvas is busy")

    autosave = make_autosave(broken)
    autosave.start()

    with qtbot.waitSignal(autosave.snapshot_failed, timeout=10_000) as blocker:
        autosave.snapshot_now()

    assert "canvas is busy" in blocker.args[0]


def test_a_builder_makes_the_document_off_the_gui_thread(qtbot: QtBot, make_autosave: Callable[..., Autosave]) -> None:
    doc = make_document(10)
    built_on: list[threading.Thread] = []

    def build() -> Document:
        built_on.append(threading.current_thread())
        return doc

    autosave = make_autosave(lambda: build)
    autosave.start()
    with qtbot.waitSignal(autosave.snapshot_written, timeout=10_000):
        autosave.snapshot_now()

    assert built_on and built_on[0] is not threading.main_thread()
    assert same_pixels(load_document(autosave.snapshot_path()).image, doc.image)


def test_a_failing_builder_is_reported_and_keeps_the_last_snapshot(
    qtbot: QtBot, make_autosave: Callable[..., Autosave]
) -> None:
    good = make_document(11)
    broken = {"now": False}

    def broken_build() -> Document:
        raise ValueError("image was freed")

    autosave = make_autosave(lambda: broken_build if broken["now"] else good)
    autosave.start()
    with qtbot.waitSignal(autosave.snapshot_written, timeout=10_000):
        autosave.snapshot_now()

    broken["now"] = True
    with qtbot.waitSignal(autosave.snapshot_failed, timeout=10_000) as blocker:
        autosave.snapshot_now()

    assert "image was freed" in blocker.args[0]
    assert same_pixels(load_document(autosave.snapshot_path()).image, good.image)


def test_a_full_disk_is_reported_as_such_and_the_last_snapshot_kept(
    qtbot: QtBot, make_autosave: Callable[..., Autosave], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    canvas = Canvas(make_document(1))
    autosave = make_autosave(canvas)
    autosave.start()
    with qtbot.waitSignal(autosave.snapshot_written, timeout=10_000):
        autosave.snapshot_now()
    kept = autosave.snapshot_path().read_bytes()

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    canvas.doc = make_document(2)
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", full)
        with qtbot.waitSignal(autosave.snapshot_failed, timeout=10_000) as failed:
            autosave.snapshot_now()
        autosave.wait_idle()
    assert "the disk is full" in failed.args[0] and "Errno" not in failed.args[0]
    assert autosave.snapshot_path().read_bytes() == kept


def test_autosave_that_cannot_start_says_why_in_words(
    qtbot: QtBot, make_autosave: Callable[..., Autosave], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    autosave = make_autosave(Canvas(make_document(1)), folder=blocker / "autosave")
    with qtbot.waitSignal(autosave.snapshot_failed, timeout=10_000) as failed:
        autosave.start()
    assert failed.args[0].startswith("Autosave is off: ") and "Errno" not in failed.args[0]
    assert str(blocker / "autosave") in failed.args[0]
