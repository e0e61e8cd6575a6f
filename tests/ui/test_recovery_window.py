"""Never lose work, through the real window and start-up wiring (``cli/gui.py``).

- the app is killed with SIGKILL after canvas edits; the next start offers the
  snapshot and the window shows it again, pixel for pixel;
- an exception in a slot shows the crash dialog, snapshots the canvas, and the
  window keeps working;
- a second launch hands its image to the running window.
"""

from __future__ import annotations

import random
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from desktop_sd.app import crash
from desktop_sd.app.autosave import SNAPSHOT_NAME, Autosave, default_folder
from desktop_sd.app.single_instance import SingleInstance
from desktop_sd.cli import gui
from desktop_sd.core.backend import Backend
from desktop_sd.core.document import Document
from desktop_sd.core.document_io import load_document, save_document
from desktop_sd.ui import questions
from desktop_sd.ui.crash_dialog import CrashDialog
from desktop_sd.ui.main_window import MainWindow
from desktop_sd.ui.recovery_dialog import recovery_box
from tests.app.test_single_instance import child, finish, first_line


def no_backend() -> Backend:
    raise AssertionError("these tests generate nothing")


def write_photo(path: Path, size: tuple[int, int] = (64, 48), seed: int = 3) -> Path:
    rng = random.Random(seed)
    Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)).save(path)
    return path


# The app as `desktop-sd photo.png` builds it; then the user paints a mask, moves the frame past the
# image (outpainting) and types a prompt. Once autosave has the result on disk the process idles until killed.
EDIT_AND_WAIT = """
import sys
from pathlib import Path
from PySide6.QtCore import QPointF, QRect, QTimer
from desktop_sd.cli import gui
from desktop_sd.core.document_io import save_document

def no_backend():
    raise AssertionError("no generation here")

app, window = gui.build_window([sys.argv[1]], backend_factory=no_backend)
autosave = gui._start_autosave(window)
window.show()

def edit():
    canvas = window.canvas
    canvas.begin_stroke()
    canvas.stroke_segment(QPointF(8, 8), QPointF(40, 30), 6.0, 1.0, False)
    canvas.end_stroke()
    canvas.set_frame(QRect(-16, 0, 64, 48))
    window.prompt.update(prompt="a lighthouse at dusk", steps=7, seed=1234, random_seed=False)

def written(path):
    save_document(window.generation.document(), Path(sys.argv[2]))  # what the user saw, to compare with
    print("written", flush=True)

autosave.snapshot_written.connect(written)
QTimer.singleShot(0, edit)
app.exec()
"""


def same(a: Image.Image | None, b: Image.Image | None) -> bool:
    assert a is not None and b is not None
    return a.mode == b.mode and a.size == b.size and ImageChops.difference(a, b).getbbox() is None


@pytest.fixture
def started(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[list[str]], tuple[MainWindow, Autosave]]]:
    """The window and autosave as ``run_gui`` wires them (without running the event loop itself).

    Questions are answered "Discard" unless a test says otherwise, so closing a modified
    window at the end of a test does not wait for a person.
    """
    monkeypatch.setattr(questions, "ask_save_discard", lambda *a, **k: QMessageBox.StandardButton.Discard)
    made: list[tuple[MainWindow, Autosave]] = []

    def start(argv: list[str]) -> tuple[MainWindow, Autosave]:
        _app, window = gui.build_window(argv, backend_factory=no_backend)
        qtbot.addWidget(window)
        autosave = gui._start_autosave(window)
        assert autosave is not None
        made.append((window, autosave))
        return window, autosave

    yield start
    for window, autosave in made:
        window.shutdown()
        autosave.discard()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_app_is_recovered_pixel_for_pixel_on_the_next_start(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: Callable[..., tuple[MainWindow, Autosave]]
) -> None:
    photo = write_photo(tmp_path / "photo.png")
    seen = tmp_path / "seen.sdproj"
    proc = child(EDIT_AND_WAIT, str(photo), str(seen))
    try:
        assert first_line(proc, qtbot, timeout_s=120) == "written"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        finish(proc)
    assert proc.returncode == -signal.SIGKILL
    expected = load_document(seen)

    asked: list[QMessageBox] = []

    def answer_yes(parent: QWidget, doc: Document, when: object) -> bool:
        asked.append(recovery_box(parent, doc, when))  # what the user is shown
        return True

    monkeypatch.setattr(gui, "ask_recovery", answer_yes)
    window, autosave = started([])
    gui._offer_recovery(window, autosave)

    assert len(asked) == 1 and "Recover the canvas" in asked[0].text()
    assert not asked[0].iconPixmap().isNull()  # a thumbnail of what comes back
    recovered: Document = window.generation.document()
    assert same(recovered.image, expected.image)
    assert same(recovered.mask, expected.mask)
    assert recovered.frame == expected.frame and recovered.frame is not None and recovered.frame.x == -16
    assert recovered.prompt["prompt"] == "a lighthouse at dusk" and recovered.prompt["seed"] == 1234
    # The mask the user painted really is there, and the photo's pixels are untouched.
    assert recovered.mask is not None and recovered.mask.getbbox() is not None
    with Image.open(photo) as original:
        assert same(recovered.image, original.convert("RGB"))
    assert not window.canvas.undo_stack.isClean()  # recovered work is not in any project file yet


def test_declining_recovery_removes_the_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: Callable[..., tuple[MainWindow, Autosave]]
) -> None:
    # A session left by a run that died: a snapshot and no live lock.
    with Image.open(write_photo(tmp_path / "photo.png")) as photo:
        lost = Document(size=photo.size, image=photo.convert("RGB"))
    (default_folder() / "20240101-000000-1-dead00").mkdir(parents=True)
    save_document(lost, default_folder() / "20240101-000000-1-dead00" / SNAPSHOT_NAME)

    monkeypatch.setattr(gui, "ask_recovery", lambda *a: False)
    window, autosave = started([])
    gui._offer_recovery(window, autosave)

    assert window.canvas.image is None
    assert list(default_folder().rglob("*.sdproj")) == []
    assert Autosave(lambda: None, default_folder()).pending_recovery() is None


@pytest.fixture
def reporter(tmp_path: Path) -> Iterator[crash.CrashReporter]:
    installed = crash.install(tmp_path / "logs")
    yield installed
    installed.uninstall()


def test_an_exception_in_a_slot_snapshots_the_canvas_and_shows_the_dialog(
    qtbot: QtBot,
    tmp_path: Path,
    reporter: crash.CrashReporter,
    started: Callable[..., tuple[MainWindow, Autosave]],
) -> None:
    window, autosave = started([str(write_photo(tmp_path / "photo.png"))])
    reporter.crashed.connect(lambda summary, log_file: gui._on_crash(window, autosave, summary, log_file))
    window.show()

    def buggy_slot() -> None:
        raise ZeroDivisionError("a bug in a slot")

    with qtbot.waitSignal(autosave.snapshot_written, timeout=10_000) as written:
        QTimer.singleShot(0, buggy_slot)

    dialog = window.findChild(CrashDialog)
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert "ZeroDivisionError: a bug in a slot" in dialog.summary_label.text()
    assert "buggy_slot" in reporter.log_path().read_text(encoding="utf-8")
    snapshot = load_document(Path(written.args[0]))
    assert same(snapshot.image, window.generation.document().image)
    # The window goes on working.
    window.canvas.fill_mask()
    assert window.canvas.has_mask()


SECOND_LAUNCH = """
import sys
from PySide6.QtCore import QCoreApplication
from desktop_sd.app.single_instance import SingleInstance
app = QCoreApplication([])
instance = SingleInstance()
print(instance.try_become_primary(), instance.send_to_primary(sys.argv[1:], timeout_ms=30_000), flush=True)
"""


def test_a_second_launch_opens_its_image_in_the_running_window(
    qtbot: QtBot, tmp_path: Path, started: Callable[..., tuple[MainWindow, Autosave]]
) -> None:
    instance = SingleInstance()
    assert instance.try_become_primary()
    try:
        window, _autosave = started([])
        instance.message_received.connect(window.files.handle_second_launch)
        write_photo(tmp_path / "second.png", size=(40, 32))

        proc = child(SECOND_LAUNCH, "second.png", cwd=tmp_path)
        try:
            assert first_line(proc, qtbot, timeout_s=120) == "False True"
        finally:
            finish(proc)

        qtbot.waitUntil(lambda: window.canvas.image is not None)
        assert (window.canvas.image.width(), window.canvas.image.height()) == (40, 32)
        assert window.isVisible()
    finally:
        instance.release()
