"""The real thing: an app process edits, snapshots, and is killed with SIGKILL; the next start recovers it."""

from __future__ import annotations

import signal

import pytest
from PIL import ImageChops
from pytestqt.qtbot import QtBot

from desktop_sd.app.autosave import Autosave, default_folder
from tests.app.test_autosave import make_document
from tests.app.test_single_instance import child, finish, first_line

# Edits the "canvas" twice; each edit is snapshotted by the timer, then the process idles in its event loop.
CHILD = """
import sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from desktop_sd.app.autosave import Autosave
from tests.app.test_autosave import make_document
from tests.app.test_single_instance import child, finish, first_line

app = QCoreApplication([])
state = {"doc": None, "edits": 0}
autosave = Autosave(lambda: state["doc"], Path(sys.argv[1]), interval_s=0.05)

def edit():
    state["edits"] += 1
    state["doc"] = make_document(100 + state["edits"])
    autosave.mark_dirty()

def written(path):
    if state["edits"] < 2:
        edit()
    else:
        print(f"written {state['edits']} {path}", flush=True)

autosave.snapshot_written.connect(written)
autosave.start()
edit()
app.exec()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_snapshot_survives_sigkill_and_is_recovered_pixel_for_pixel(qtbot: QtBot) -> None:
    folder = default_folder()
    proc = child(CHILD, str(folder))
    try:
        assert first_line(proc, qtbot).startswith("written 2 ")
        # While it runs, its snapshot belongs to it: another start does not offer it.
        assert Autosave(lambda: None, folder).pending_recovery() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        finish(proc)
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
