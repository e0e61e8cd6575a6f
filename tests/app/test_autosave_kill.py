"""The real thing: an app process edits, snapshots, and is killed with SIGKILL; the next start recovers it."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import ImageChops
from pytestqt.qtbot import QtBot

from desktop_sd.app.autosave import Autosave, default_folder
from tests.app.test_autosave import make_document

ROOT = Path(__file__).resolve().parents[2]

# Edits the "canvas" twice; each edit is snapshotted by the timer, then the process idles in its event loop.
CHILD = """
import sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from desktop_sd.app.autosave import Autosave
from tests.app.test_autosave import make_document

app = QCoreApplication([])
state = {"doc": None, "edits": 0}
autosave = Autosave(lambda: state["doc"], Path(sys.argv[1]), interval_s=0.05)

def edit():
    state["edits"] += 1
    state["doc"] = make_document(100 + state["edits"])
    autosave.mark_dirty()

def written(path):
    print(f"written {state['edits']} {path}", flush=True)
    if state["edits"] < 2:
        edit()

autosave.snapshot_written.connect(written)
autosave.start()
edit()
app.exec()
"""


def read_line(proc: subprocess.Popen[str], timeout_s: float = 60) -> str:
    """One line of the child's output, without hanging the suite if it never comes."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            line = proc.stdout.readline()
            if line:
                return line.strip()
            break
    raise AssertionError(f"the child said nothing useful; stderr: {proc.stderr.read() if proc.stderr else ''}")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_snapshot_survives_sigkill_and_is_recovered_pixel_for_pixel(qtbot: QtBot) -> None:
    folder = default_folder()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)},
    )
    try:
        assert read_line(proc).startswith("written 1 ")
        assert read_line(proc).startswith("written 2 ")
        # While it runs, its snapshot belongs to it: another start does not offer it.
        assert Autosave(lambda: None, folder).pending_recovery() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == -signal.SIGKILL

    restarted = Autosave(lambda: None, folder)
    restarted.start()
    recovered = restarted.pending_recovery()

    expected = make_document(102)  # the last edit before the kill
    assert recovered is not None and recovered.image is not None and recovered.mask is not None
    assert ImageChops.difference(recovered.image, expected.image).getbbox() is None
    assert ImageChops.difference(recovered.mask, expected.mask).getbbox() is None
    assert recovered.frame == expected.frame and recovered.prompt == expected.prompt

    restarted.discard()  # clean exit this time
    assert Autosave(lambda: None, folder).pending_recovery() is None
    assert list(folder.iterdir()) == []
