"""The GUI's model manager: downloads and imports off the GUI thread, reported through signals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop_sd.app.model_manager import ModelManager
from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family
from desktop_sd.models import hfcache, sysinfo
from tests.models.builders import checkpoint_bytes, folder_files, make_checkpoint, truncate
from tests.models.fakehub import FakeHub, serve


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    yield from serve(monkeypatch)


@pytest.fixture
def manager(qtbot: QtBot) -> Iterator[ModelManager]:
    manager = ModelManager()
    yield manager
    manager.shutdown()


@pytest.fixture
def turbo_repo(fake_hub: FakeHub, tiny_model_dir: Path) -> dict[str, bytes]:
    files = folder_files(tiny_model_dir)
    fake_hub.add_repo("stabilityai/sd-turbo", files)
    return files


def test_download_reports_progress_then_finishes_on_the_gui_thread(
    qtbot: QtBot, manager: ModelManager, turbo_repo: dict[str, bytes]
) -> None:
    gui_thread = threading.current_thread()
    seen: list[tuple[int, int, threading.Thread]] = []
    manager.download_progress.connect(
        lambda _id, done, total, _speed: seen.append((done, total, threading.current_thread()))
    )
    entry = next(e for e in manager.catalog() if e.id == "sd-turbo")
    events: list[str] = []
    manager.installed_changed.connect(lambda: events.append("installed_changed"))
    manager.download_finished.connect(lambda model_id: events.append(f"finished {model_id}"))
    with qtbot.waitSignal(manager.download_finished, timeout=30_000):
        assert manager.download(entry) == "sd-turbo"
        assert manager.is_downloading("sd-turbo")
    assert events == ["installed_changed", "finished sd-turbo"]
    total = sum(len(v) for v in turbo_repo.values())
    assert seen and seen[-1][:2] == (total, total)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
    assert all(thread is gui_thread for _, _, thread in seen)
    assert not manager.is_downloading("sd-turbo")
    assert [m.id for m in manager.installed()] == ["sd-turbo"]
    assert manager.default_model_id() == "sd-turbo"


def test_asking_twice_starts_one_download(
    qtbot: QtBot, manager: ModelManager, fake_hub: FakeHub, turbo_repo: dict[str, bytes]
) -> None:
    fake_hub.faults.gate = threading.Event()
    started: list[str] = []
    manager.download_started.connect(started.append)
    manager.download("sd-turbo")
    manager.download("sd-turbo")
    fake_hub.faults.gate.set()
    with qtbot.waitSignal(manager.download_finished, timeout=30_000):
        pass
    assert started == ["sd-turbo"]


def test_cancel_stops_and_leaves_no_partial_files(
    qtbot: QtBot, manager: ModelManager, fake_hub: FakeHub, turbo_repo: dict[str, bytes]
) -> None:
    fake_hub.faults.chunk_delay = 0.002
    manager.download_progress.connect(lambda model_id, done, *_: manager.cancel(model_id) if done > 20_000 else None)
    with qtbot.waitSignal(manager.download_cancelled, timeout=30_000) as blocker:
        manager.download("sd-turbo")
    assert blocker.args == ["sd-turbo"]
    assert manager.installed() == []
    assert not [p for p in hfcache.cache_dir().rglob("*") if ".incomplete" in p.name]


def test_closing_the_app_keeps_partial_files_to_resume(
    qtbot: QtBot, fake_hub: FakeHub, turbo_repo: dict[str, bytes]
) -> None:
    fake_hub.faults.chunk_delay = 0.002
    manager = ModelManager()
    with qtbot.waitSignal(
        manager.download_progress,
        timeout=30_000,
        check_params_cb=lambda _id, done, _total, _speed: done > 1_000_000,  # inside the UNet file
    ):
        manager.download("sd-turbo")
    manager.shutdown()
    assert any(p.stat().st_size > 0 for p in hfcache.cache_dir().rglob("*.incomplete"))
    fake_hub.faults.chunk_delay = 0.0
    again = ModelManager()
    with qtbot.waitSignal(again.download_finished, timeout=30_000):
        again.download("sd-turbo")
    assert any("Range" in r.headers for r in fake_hub.requests("GET", "/cdn/"))
    assert [m.id for m in again.installed()] == ["sd-turbo"]


def test_failures_arrive_as_messages(qtbot: QtBot, manager: ModelManager, fake_hub: FakeHub) -> None:
    fake_hub.add_repo("org/ckpts", {"model.safetensors": checkpoint_bytes()})
    fake_hub.faults.wrong_bytes.add("model.safetensors")
    with qtbot.waitSignal(manager.download_failed, timeout=30_000) as blocker:
        manager.download("org/ckpts", file="model.safetensors")
    assert blocker.args[0] == "org/ckpts/model.safetensors"
    assert "did not verify" in blocker.args[1]
    with qtbot.waitSignal(manager.download_failed, timeout=5_000) as blocker:
        manager.download("no such thing")
    assert "not a catalog model" in blocker.args[1]
    assert manager.installed() == []


def test_import_runs_off_the_gui_thread_and_reports(qtbot: QtBot, manager: ModelManager, tmp_path: Path) -> None:
    good = make_checkpoint(tmp_path / "Good.safetensors", Family.SDXL)
    with qtbot.waitSignal(manager.import_finished, timeout=30_000) as blocker:
        manager.import_path(good, copy=True)
    assert blocker.args == ["Good"]
    (model,) = manager.installed()
    assert model.family is Family.SDXL and model.owned and model.path != good
    bad = truncate(make_checkpoint(tmp_path / "Bad.safetensors"))
    with qtbot.waitSignal(manager.import_failed, timeout=30_000) as blocker:
        manager.import_path(bad, copy=False)
    assert blocker.args[0] == str(bad) and "corrupt or incomplete" in blocker.args[1]


def test_remove_and_default_update_the_list(qtbot: QtBot, manager: ModelManager, tmp_path: Path) -> None:
    for name in ("a", "b"):
        with qtbot.waitSignal(manager.import_finished, timeout=30_000):
            manager.import_path(make_checkpoint(tmp_path / f"{name}.safetensors"), copy=False)
    with qtbot.waitSignal(manager.installed_changed):
        manager.set_default("b")
    assert manager.default_model_id() == "b"
    with qtbot.waitSignal(manager.installed_changed):
        manager.remove("b")
    assert [m.id for m in manager.installed()] == ["a"] and manager.default_model_id() == "a"
    assert (tmp_path / "b.safetensors").exists()
    with pytest.raises(ModelError):
        manager.remove("b")


@pytest.mark.parametrize(("vram_mb", "expected"), [(None, "sd-turbo"), (6144, "sd-turbo"), (24576, "sdxl-base")])
def test_recommended_entry_follows_the_gpu(
    manager: ModelManager, monkeypatch: pytest.MonkeyPatch, vram_mb: int | None, expected: str
) -> None:
    monkeypatch.setattr(sysinfo, "gpu_vram_mb", lambda timeout=3.0: vram_mb)
    entry = manager.recommended_entry()
    assert entry is not None and entry.id == expected


def test_offline_switch_is_saved_and_blocks_downloads(
    qtbot: QtBot, manager: ModelManager, fake_hub: FakeHub, turbo_repo: dict[str, bytes]
) -> None:
    with qtbot.waitSignal(manager.offline_changed) as blocker:
        manager.set_offline(True)
    assert blocker.args == [True] and ModelManager().offline()
    with qtbot.waitSignal(manager.download_failed, timeout=10_000) as failed:
        manager.download("sd-turbo")
    assert "offline" in failed.args[1]
    assert fake_hub.requests() == []
    manager.set_offline(False)
    assert not manager.offline()


def test_an_offline_switch_that_cannot_be_saved_says_why(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from desktop_sd.core.settings import Settings

    manager = ModelManager(settings=Settings.load())  # as the window makes it: one settings object

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", full)
        with qtbot.waitSignal(manager.settings_not_saved) as failed:
            manager.set_offline(True)
    assert failed.args[0].startswith("Could not save the settings") and "the disk is full" in failed.args[0]
    assert failed.args[0].endswith("Offline mode is on until Desktop SD closes.")
    assert manager.offline()
    manager.shutdown()


def test_unreachable_network_turns_offline_mode_on_until_switched_off(
    qtbot: QtBot,
    manager: ModelManager,
    fake_hub: FakeHub,
    turbo_repo: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    real = socket.create_connection
    down = [True]

    def network(*args: object, **kwargs: object) -> socket.socket:
        if down[0]:
            raise socket.gaierror(-3, "Temporary failure in name resolution")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "create_connection", network)
    offline: list[bool] = []
    manager.offline_changed.connect(offline.append)
    with qtbot.waitSignal(manager.download_failed, timeout=10_000) as failed:
        manager.download("sd-turbo")
    assert "working offline" in failed.args[1]
    assert offline == [True] and manager.offline()
    down[0] = False
    manager.set_offline(False)
    assert offline == [True, False]
    with qtbot.waitSignal(manager.download_finished, timeout=30_000):
        manager.download("sd-turbo")


def test_preview_autoencoders_are_not_offered_as_models(qtbot: QtBot, manager: ModelManager, fake_hub: FakeHub) -> None:
    from tests.models.builders import taesd_bytes

    fake_hub.add_repo(
        "madebyollin/taesd",
        {"config.json": b'{"_class_name": "AutoencoderTiny"}', "diffusion_pytorch_model.safetensors": taesd_bytes()},
    )
    with qtbot.waitSignal(manager.download_finished, timeout=30_000):
        manager.download("taesd")
    assert manager.installed() == []
    assert [m.id for m in manager.installed(include_previews=True)] == ["taesd"]
    assert manager.taesd_path(Family.SD1) is not None and manager.default_model_id() is None
