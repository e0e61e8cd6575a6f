"""The window's backend: a server checkpoint runs only on servers that have it, a local model on this
computer (made on its first job), and the servers can be swapped between jobs."""

from __future__ import annotations

import threading

import pytest
from PIL import Image

from desktop_sd.core.errors import ServerError
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.remote.backend import ComfyBackend
from desktop_sd.remote.client import ComfyClient
from desktop_sd.remote.mixed import MixedBackend, parse_server_model, server_model_id
from desktop_sd.remote.pool import State
from tests.app.fake_backend import FakeBackend
from tests.remote.comfy_standin import ComfyStandIn


def request(model: str) -> GenerationRequest:
    return GenerationRequest(Mode.TXT2IMG, "a boat", model=model, width=64, height=64, steps=2, seed=5)


def no_steps(step: int, total: int, preview: Image.Image | None) -> None:
    pass


def test_server_model_ids_name_the_server_and_its_checkpoint() -> None:
    model = server_model_id("gpu-box", "SD1.5/dreamshaper_8.safetensors")
    assert parse_server_model(model) == ("gpu-box", "SD1.5/dreamshaper_8.safetensors")
    assert parse_server_model("/models/dreamshaper_8.safetensors") is None
    assert parse_server_model("comfyui://gpu-box") is None


def test_a_server_checkpoint_runs_on_the_server_and_a_local_model_here(standin: ComfyStandIn) -> None:
    local = FakeBackend()
    made: list[str] = []

    def factory() -> FakeBackend:
        made.append("engine")
        return local

    backend = MixedBackend(factory, [ComfyBackend(ComfyClient("box", standin.url, timeout_s=5.0))])
    assert backend.status().device == "comfyui" and made == []  # the status never makes the engine

    remote = backend.generate(request(server_model_id("box", "sd15.safetensors")), no_steps, threading.Event())
    assert remote.server == "box" and remote.model_id == "sd15.safetensors"
    assert remote.request.model == server_model_id("box", "sd15.safetensors") and made == []
    assert backend.status().device_name.startswith("box")

    here = backend.generate(request("/models/mine.safetensors"), no_steps, threading.Event())
    assert here.server == "" and made == ["engine"] and len(local.requests) == 1
    assert backend.status() == local.status()  # the status bar follows where the last job ran
    assert [s.state for s in backend.states()] == [State.IDLE, State.IDLE]


def test_a_checkpoint_no_server_has_fails_naming_each_member(standin: ComfyStandIn) -> None:
    backend = MixedBackend(FakeBackend, [ComfyBackend(ComfyClient("box", standin.url, timeout_s=5.0))])
    with pytest.raises(ServerError) as caught:
        backend.generate(request(server_model_id("box", "sdxl.safetensors")), no_steps, threading.Event())
    text = str(caught.value)
    assert "box has no checkpoint 'sdxl.safetensors'" in text and "This computer" in text


def test_servers_swapped_between_jobs(make_standin: object) -> None:
    first, second = make_standin(), make_standin()  # type: ignore[operator]
    backend = MixedBackend(FakeBackend, [ComfyBackend(ComfyClient("a", first.url, timeout_s=5.0))])
    backend.set_servers([ComfyBackend(ComfyClient("b", second.url, timeout_s=5.0))])
    result = backend.generate(request(server_model_id("a", "sd15.safetensors")), no_steps, threading.Event())
    assert result.server == "b" and first.prompts == {} and len(second.prompts) == 1  # b has the same checkpoint


class WarmingFactory:
    """A local engine factory with a warm-up, as ``cli.local_engine.LocalEngineFactory`` has."""

    def __init__(self) -> None:
        self.warmed: list[bool] = []  # the stop flag each warm-up saw
        self.made = 0

    def __call__(self) -> FakeBackend:
        self.made += 1
        return FakeBackend()

    def warm_up(self, stop: threading.Event) -> None:
        self.warmed.append(stop.is_set())


def test_warm_up_warms_the_local_engine_without_making_it(standin: ComfyStandIn) -> None:
    factory = WarmingFactory()
    backend = MixedBackend(factory, [ComfyBackend(ComfyClient("box", standin.url, timeout_s=5.0))])
    backend.warm_up(threading.Event())
    assert factory.warmed == [False] and factory.made == 0  # imports only: the engine is made on its first job
    stop = threading.Event()
    stop.set()
    backend.warm_up(stop)  # quitting already: nothing is started
    assert factory.warmed == [False]
    backend.generate(request("/models/mine.safetensors"), no_steps, threading.Event())
    assert factory.made == 1


def test_warm_up_with_a_factory_that_has_none_does_nothing() -> None:
    made: list[str] = []
    backend = MixedBackend(lambda: made.append("engine") or FakeBackend())  # type: ignore[func-returns-value]
    backend.warm_up(threading.Event())
    assert made == []


def test_warm_up_with_a_backend_class_as_the_factory_leaves_it_to_the_first_job() -> None:
    class Warming(FakeBackend):
        def warm_up(self, stop: threading.Event) -> None:
            raise AssertionError("called without an instance")

    backend = MixedBackend(Warming)
    backend.warm_up(threading.Event())  # the class's warm_up needs an engine, which is made on the first job
    assert backend.generate(request("/models/mine.safetensors"), no_steps, threading.Event()).images
