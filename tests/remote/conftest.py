"""Stand-in ComfyUI servers for the remote tests, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from desktop_sd.remote.backend import ComfyBackend
from desktop_sd.remote.client import ComfyClient
from tests.remote.comfy_standin import ComfyStandIn


@pytest.fixture
def make_standin() -> Iterator[Callable[..., ComfyStandIn]]:
    started: list[ComfyStandIn] = []

    def make(**options: object) -> ComfyStandIn:
        standin = ComfyStandIn(**options).start()  # type: ignore[arg-type]
        started.append(standin)
        return standin

    yield make
    for standin in started:
        standin.stop()


@pytest.fixture
def standin(make_standin: Callable[..., ComfyStandIn]) -> ComfyStandIn:
    return make_standin()


@pytest.fixture
def backend(standin: ComfyStandIn) -> ComfyBackend:
    return ComfyBackend(ComfyClient("box", standin.url, timeout_s=5.0), history_check_s=1.0)
