"""ComfyUI servers in the window, against the stand-in server: the picker, a job on a server landing in
the history, the status bar, the Servers dialog and offline mode (the window built by the real
composition root; the local engine is a fake)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop_sd.app.messages import Level
from desktop_sd.cli.gui import build_window
from desktop_sd.core import paths
from desktop_sd.core.settings import Settings
from desktop_sd.library.metadata import A1111_CHUNK, JSON_CHUNK
from desktop_sd.library.read_comfy import parse_comfy_prompt
from desktop_sd.remote.mixed import server_model_id
from desktop_sd.ui.gallery_details import describe
from desktop_sd.ui.main_window import MainWindow
from tests.app.fake_backend import FakeBackend
from tests.memory_keyring import MemoryKeyring
from tests.remote.comfy_standin import ComfyStandIn

BOX_SD15 = server_model_id("box", "sd15.safetensors")
WindowMaker = Callable[..., MainWindow]


@pytest.fixture
def standin() -> Iterator[ComfyStandIn]:
    with ComfyStandIn() as server:
        yield server


@pytest.fixture
def make_window(
    qtbot: QtBot, tmp_path: Path, fake_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WindowMaker]:
    windows: list[MainWindow] = []

    def make(servers: dict[str, str] | None = None, offline: bool = False, model: str = "") -> MainWindow:
        settings = Settings.load()
        settings.servers = dict(servers or {})
        settings.offline = offline
        if model:
            settings.prompt = {**settings.prompt, "model": model}
        settings.extra_models = [str(fake_model_dir)]  # a local model, offered as on any start
        local = FakeBackend()
        argv = ["--library", str(tmp_path / "library")]
        _app, window = build_window(argv, backend_factory=lambda: local, settings=settings)
        window.local = local  # type: ignore[attr-defined]
        windows.append(window)
        return window

    yield make
    discard = QMessageBox.StandardButton.Discard
    monkeypatch.setattr(QMessageBox, "question", lambda *_a, **_k: discard)
    for window in windows:
        window.close()
        window.shutdown()
        window.deleteLater()


def _combo_names(window: MainWindow) -> list[str]:
    combo = window.prompt_panel.model_combo
    return [combo.itemText(i) for i in range(combo.count())]


def test_a_server_checkpoint_runs_on_the_server_and_lands_in_the_history_with_its_graph(
    qtbot: QtBot, make_window: WindowMaker, standin: ComfyStandIn
) -> None:
    window = make_window({"box": standin.url})
    qtbot.waitUntil(lambda: "box: sd15" in _combo_names(window), timeout=10_000)
    assert window.models.find(BOX_SD15) is not None
    window.prompt.update(model=BOX_SD15, prompt="a boat", steps=2, width=64, height=64, seed=5, random_seed=False)
    assert window.status.model_label.text() == "Model: box: sd15"
    history = window.services.history
    assert history is not None
    with qtbot.waitSignal(history.saver.saved, timeout=30_000) as saved:
        window.generation.generate()
    assert window.local.requests == []  # type: ignore[attr-defined]  # the local engine ran nothing
    assert len(standin.prompts) == 1
    (record,) = saved.args[1]
    with Image.open(record.path) as image:
        chunks = dict(image.text)  # type: ignore[attr-defined]
    assert "Server: box" in chunks[A1111_CHUNK] and "Model: sd15" in chunks[A1111_CHUNK]
    graph = json.loads(chunks["prompt"])
    assert graph == next(iter(standin.prompts.values()))  # the graph the server was given, as submitted
    assert graph["1"]["inputs"]["ckpt_name"] == "sd15.safetensors"
    comfy = parse_comfy_prompt(chunks["prompt"])  # what ComfyUI's own chunk says, read as another tool's file
    assert comfy is not None and comfy.prompt == "a boat" and comfy.seed == 5 and comfy.steps == 2
    own = json.loads(chunks[JSON_CHUNK])
    assert own["server"] == "box" and own["request"]["model"] == BOX_SD15  # reusing it picks the server again
    assert ("Server", "box") in describe(record)


def test_a_server_checkpoint_chosen_last_time_is_still_chosen_at_start(
    qtbot: QtBot, make_window: WindowMaker, standin: ComfyStandIn
) -> None:
    standin.checkpoints.append("sdxl/juggernaut.safetensors")
    window = make_window({"box": standin.url}, model=BOX_SD15)
    assert window.prompt.values.model == BOX_SD15  # offered before the server has answered
    qtbot.waitUntil(lambda: "box: juggernaut" in _combo_names(window), timeout=10_000)  # then its whole list
    assert window.prompt.values.model == BOX_SD15 and window.prompt_panel.model_combo.currentText() == "box: sd15"


def test_the_status_bar_shows_each_server_busy_then_unreachable(
    qtbot: QtBot, make_window: WindowMaker, standin: ComfyStandIn
) -> None:
    window = make_window({"box": standin.url})
    monitor = window.services.servers
    assert monitor is not None
    label = window.status.servers_label
    qtbot.waitUntil(lambda: label.text() == "This computer: idle · box: idle", timeout=10_000)
    assert label.isVisibleTo(window.status)

    standin.hold.set()  # the job waits on the server at its first step
    window.prompt.update(model=BOX_SD15, prompt="x", steps=2, width=64, height=64)
    window.generation.generate()
    assert standin.step_reached.wait(10)
    with qtbot.waitSignal(monitor.states_changed, timeout=10_000):
        monitor.poll()
    assert label.text() == "This computer: idle · box: busy (1 in queue)"

    with qtbot.waitSignal(window.queue.job_failed, timeout=30_000) as failed:
        standin.stop()  # the server dies mid-job: no other server has the checkpoint
    assert "box" in failed.args[1] and "stopped answering" in failed.args[1]
    qtbot.waitUntil(lambda: not monitor.polling, timeout=10_000)
    with qtbot.waitSignal(monitor.states_changed, timeout=10_000):
        monitor.poll()
    assert label.text() == "This computer: idle · box: unreachable"
    assert "box:" in label.toolTip()


def test_the_servers_dialog_adds_tests_and_removes_a_server_with_its_token_only_in_the_keyring(
    qtbot: QtBot, make_window: WindowMaker, standin: ComfyStandIn, memory_keyring: MemoryKeyring
) -> None:
    window = make_window()
    assert not window.status.servers_label.isVisibleTo(window.status)
    standin.required_token = "s3cret-token"
    dialog = window.servers.open_dialog()
    assert dialog is not None
    dialog.name_edit.setText("box")
    dialog.url_edit.setText(standin.url)
    dialog.token_edit.setText("s3cret-token")
    dialog.add_button.click()
    assert dialog.list.count() == 1 and "box" in dialog.list.item(0).text()
    assert dialog.token_edit.text() == ""
    settings_text = paths.settings_file().read_text(encoding="utf-8")
    assert standin.url in settings_text and "s3cret-token" not in settings_text
    assert list(memory_keyring.passwords.values()) == ["s3cret-token"]
    qtbot.waitUntil(lambda: "box: sd15" in _combo_names(window), timeout=10_000)  # reached with the token

    with qtbot.waitSignal(dialog.tested, timeout=10_000) as tested:
        dialog.test_button.click()
    assert tested.args[0] == f"box: ComfyUI {standin.version}, 1 checkpoint(s)."

    dialog.list.setCurrentRow(0)
    dialog.remove_button.click()
    assert dialog.list.count() == 0 and memory_keyring.passwords == {}
    assert "box" not in Settings.load().servers
    assert "box: sd15" not in _combo_names(window)
    assert window.services.servers is not None and window.services.servers.backend.servers() == []


def test_adding_a_plain_http_server_on_another_machine_warns_once_in_the_dialog(
    qtbot: QtBot, make_window: WindowMaker
) -> None:
    window = make_window()
    dialog = window.servers.open_dialog()
    assert dialog is not None
    dialog.name_edit.setText("far")
    dialog.url_edit.setText("192.0.2.7")
    dialog.add_button.click()
    assert "plain http" in dialog.result_label.text() and "http://192.0.2.7:8188" in dialog.result_label.text()
    assert not any("plain http" in m.text for m in window.messages.messages())  # said once, in the dialog
    dialog.add_button.click()  # added again (replaced): no second warning
    assert dialog.result_label.text() == "Added far (http://192.0.2.7:8188)."


def test_offline_mode_keeps_another_machine_out_until_allowed_and_plain_http_warns(
    qtbot: QtBot, make_window: WindowMaker
) -> None:
    window = make_window({"far": "http://192.0.2.7:8188"}, offline=True)
    monitor = window.services.servers
    assert monitor is not None and monitor.backend.servers() == []
    banner = next(m for m in window.messages.messages() if "Offline mode is on" in m.text)
    assert "far" in banner.text and [b.text() for b in banner.buttons] == ["Allow for this session"]
    banner.buttons[0].click()
    assert [s.name for s in monitor.backend.servers()] == ["far"]
    warnings = [m.text for m in window.messages.messages() if m.level is Level.WARNING]
    assert any("plain http" in text and "192.0.2.7" in text for text in warnings)
    assert not any("Offline mode is on" in text for text in warnings)
