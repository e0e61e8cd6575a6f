"""Shared fixtures. Tests never touch the network or the developer's own folders."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.memory_keyring import MemoryKeyring

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every user folder (settings, library, models, logs, HF cache) at a temp folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("DESKTOP_SD_HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    return home


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Tokens go to an in-memory keyring: no test touches the developer's OS keyring."""
    import keyring
    from keyring.backends import fail

    store = MemoryKeyring()
    keyring.set_keyring(store)
    yield store
    keyring.set_keyring(fail.Keyring())  # never the real one, even between tests


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread of its own running (QThreads included)."""
    before = set(threading.enumerate())
    yield
    leaked = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.daemon and t is not threading.main_thread()
    ]
    for t in leaked:
        t.join(timeout=5)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"test left threads running: {still}"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight SD 1.x model saved as a diffusers folder (built once per session)."""
    from desktop_sd.engine.random_models import save_pipeline

    return save_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd", "tiny")


@pytest.fixture(scope="session")
def tiny_inpaint_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight 9-channel inpainting model as a diffusers folder."""
    from desktop_sd.engine.random_models import save_pipeline

    return save_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd-inpaint", "tiny", inpainting=True)
