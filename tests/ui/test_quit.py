"""Quitting always quits: a job stuck inside a step, SIGTERM from the system, a running instance that hangs."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop_sd.app.autosave import Autosave, default_folder
from desktop_sd.app.single_instance import SingleInstance
from desktop_sd.cli import gui
from tests.app.test_single_instance import HOLD, child, finish, first_line

# A GUI whose backend gets stuck inside its first step and never looks at the cancel flag, as a huge
# first step on the CPU does. ``ACTION`` runs once the job is running, and prints the one line.
GUI = """
import sys, threading
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from desktop_sd.cli import gui
from desktop_sd.core.backend import BackendStatus

class Stuck:
    def generate(self, request, on_step, cancelled):
        on_step(1, request.steps, None)
        threading.Event().wait()

    def status(self):
        return BackendStatus(device="cpu", device_name="CPU", tier=None, model_id=None, free_vram_mb=None)

gui.engine_factory = Stuck
app = QApplication([])

def start():
    window = next(w for w in app.topLevelWidgets() if w.objectName() == "main-window")
    window.files.add_model(Path(sys.argv[1]))
    window.prompt.update(prompt="stuck", steps=4, width=64, height=64)
    window.queue.progress.connect(lambda *_a: ACTION(window))
    window.generation.generate()

QTimer.singleShot(0, start)
sys.exit(gui.run_gui([]))
"""

QUIT = """
def ACTION(window):
    print("running", flush=True)
    window.quit_without_asking()
"""

WAIT_FOR_TERM = """
def ACTION(window):
    window.canvas.fill_mask()  # unsaved work on the canvas
    print("running", flush=True)
"""


# The real window with the real engine factory: once it has painted, the worker starts importing torch and
# the rest (the warm-up); the user quits meanwhile. The line says whether the warm-up ran to its end.
WARMING = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from desktop_sd.cli import gui

app = QApplication([])

def quit_once_warming_up():
    window = next((w for w in app.topLevelWidgets() if w.objectName() == "main-window"), None)
    if window is not None and "torch" in sys.modules:  # the worker is importing it
        window.quit_without_asking()
    else:
        QTimer.singleShot(5, quit_once_warming_up)

QTimer.singleShot(0, quit_once_warming_up)
code = gui.run_gui([])
print("engine imported" if "desktop_sd.engine" in sys.modules else "warm-up stopped", flush=True)
sys.exit(code)
"""


def test_quitting_while_the_engine_warms_up_stops_it_between_two_imports(qtbot: QtBot) -> None:
    proc = child(WARMING)
    try:
        # Not abandoned (that ends the process before the line): the worker stopped after the module it was in.
        assert first_line(proc, qtbot) == "warm-up stopped"
        assert proc.wait(timeout=20) == 0
    finally:
        finish(proc)


def test_quitting_while_a_step_cannot_be_interrupted_still_ends_the_process(qtbot: QtBot, fake_model_dir: Path) -> None:
    proc = child(QUIT + GUI, str(fake_model_dir))
    try:
        assert first_line(proc, qtbot) == "running"
        # Without giving up on the worker the process would wait for the stuck step forever.
        assert proc.wait(timeout=20) == 0
    finally:
        finish(proc)


def test_sigterm_keeps_the_canvas_for_recovery_and_ends_the_process(qtbot: QtBot, fake_model_dir: Path) -> None:
    proc = child(WAIT_FOR_TERM + GUI, str(fake_model_dir))
    try:
        assert first_line(proc, qtbot) == "running"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        finish(proc)
    recovered = Autosave(lambda: None, default_folder()).pending_recovery()
    assert recovered is not None and recovered.mask is not None  # the mask painted before the signal


def test_a_running_instance_that_does_not_answer_can_be_ended(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The holder takes the lock, then never runs its event loop again: it cannot answer.
    holder = child(HOLD.replace("app.exec()", "import time; time.sleep(600)"))
    try:
        assert first_line(holder, qtbot) == "primary=True"
        instance = SingleInstance()
        assert not instance.try_become_primary()
        assert not instance.send_to_primary([], timeout_ms=300)
        asked: list[str] = []

        def question(_parent: object, _title: str, text: str, *_args: object) -> QMessageBox.StandardButton:
            asked.append(text)
            return QMessageBox.StandardButton.Yes

        monkeypatch.setattr(QMessageBox, "question", question)
        assert gui._replace_stuck_instance(instance)
        assert f"process {holder.pid}" in asked[0] and "does not answer" in asked[0]
        assert holder.wait(timeout=20) is not None  # ended
        instance.release()
    finally:
        finish(holder)


def test_declining_to_end_a_stuck_instance_ends_nothing(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = child(HOLD.replace("app.exec()", "import time; time.sleep(600)"))
    try:
        assert first_line(holder, qtbot) == "primary=True"
        instance = SingleInstance()
        assert not instance.try_become_primary()
        monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Cancel)
        assert not gui._replace_stuck_instance(instance)
        assert holder.poll() is None  # still running: nothing was ended
    finally:
        finish(holder)
