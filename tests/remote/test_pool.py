"""Several servers: least busy first, a lost server's job goes elsewhere, backoff, the local engine as a member."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from PIL import Image

from desktop_sd.core.backend import BackendStatus, StepCallback
from desktop_sd.core.errors import ServerError
from desktop_sd.core.request import GenerationRequest, GenerationResult, MemoryTier, Mode
from desktop_sd.remote.backend import ComfyBackend
from desktop_sd.remote.client import ComfyClient
from desktop_sd.remote.pool import LocalMember, ServerPool, State
from tests.remote.comfy_standin import ComfyStandIn

Make = Callable[..., ComfyStandIn]


def member(name: str, standin: ComfyStandIn) -> ComfyBackend:
    return ComfyBackend(ComfyClient(name, standin.url, timeout_s=5.0), history_check_s=1.0)


def request(**changes: object) -> GenerationRequest:
    return GenerationRequest(Mode.TXT2IMG, "a boat", model="sd15", width=64, height=64, steps=2, seed=5).replace(
        **changes
    )


def no_steps(step: int, total: int, preview: Image.Image | None) -> None:
    pass


def test_a_job_goes_to_the_least_busy_server(make_standin: Make) -> None:
    busy, idle = make_standin(), make_standin()
    busy.hold.set()
    held = threading.Thread(target=member("x", busy).generate, args=(request(), no_steps, threading.Event()))
    held.start()  # someone's job keeps "busy" busy
    assert busy.step_reached.wait(10)
    pool = ServerPool([member("busy", busy), member("idle", idle)])

    assert pool.generate(request(), no_steps, threading.Event()).server == "idle"
    states = {s.name: s for s in pool.states()}
    assert (states["busy"].state, states["busy"].queue) == (State.BUSY, 1)
    assert states["idle"].state is State.IDLE
    busy.release()
    held.join(10)


def test_a_server_killed_mid_job_hands_the_job_to_another(make_standin: Make) -> None:
    dying, spare = make_standin(), make_standin()
    dying.die_at_step = 2
    pool = ServerPool([member("dying", dying), member("spare", spare)])  # equal queues: list order, dying first

    result = pool.generate(request(), no_steps, threading.Event())

    assert result.server == "spare" and len(result.images) == 1
    assert dying.prompts  # it really was started there
    assert {s.name: s.state for s in pool.states()}["dying"] is State.UNREACHABLE


def test_only_servers_with_the_model_are_used(make_standin: Make) -> None:
    plain, xl = make_standin(), make_standin(checkpoints=("sdxl_base.safetensors",))
    pool = ServerPool([member("plain", plain), member("xl", xl)])
    assert pool.generate(request(model="sdxl_base"), no_steps, threading.Event()).server == "xl"
    with pytest.raises(ServerError, match=r"No server could run the job \(plain: plain has no checkpoint 'flux'"):
        pool.generate(request(model="flux"), no_steps, threading.Event())


def test_an_unreachable_server_is_retried_after_a_growing_backoff(make_standin: Make) -> None:
    gone, up = make_standin(), make_standin()
    url = gone.url
    gone.stop()
    now = [100.0]
    pool = ServerPool([member("gone", gone), member("up", up)], clock=lambda: now[0])

    assert pool.generate(request(), no_steps, threading.Event()).server == "up"
    assert {s.name: s.state for s in pool.states()}["gone"] is State.UNREACHABLE
    now[0] += 0.5
    assert pool.generate(request(), no_steps, threading.Event()).server == "up"  # still backing off: not asked
    now[0] += 1.0  # first backoff (1 s) over: asked again, fails again, next wait is 2 s
    pool.states()
    now[0] += 1.5
    states = {s.name: s for s in pool.states()}
    assert states["gone"].state is State.UNREACHABLE and url in states["gone"].error


def test_with_every_server_gone_the_message_names_each(make_standin: Make) -> None:
    a, b = make_standin(), make_standin()
    a.stop()
    b.stop()
    pool = ServerPool([member("a", a), member("b", b)])
    with pytest.raises(ServerError, match=r"No server could run the job \(a: a .* cannot be reached.*; b: b "):
        pool.generate(request(), no_steps, threading.Event())


class FakeLocal:
    def __init__(self) -> None:
        self.runs = 0

    def generate(
        self, request: GenerationRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> GenerationResult:
        self.runs += 1
        return GenerationResult((Image.new("RGB", (8, 8)),), request, (1,), "local", "cpu", MemoryTier.GPU)

    def status(self) -> BackendStatus:
        return BackendStatus("cpu", "CPU", None, None, None)


def test_the_local_engine_is_one_more_member(make_standin: Make) -> None:
    remote = make_standin()
    remote.hold.set()
    held = threading.Thread(target=member("x", remote).generate, args=(request(), no_steps, threading.Event()))
    held.start()
    assert remote.step_reached.wait(10)
    local = FakeLocal()
    pool = ServerPool([member("remote", remote), LocalMember(local)])

    assert pool.generate(request(), no_steps, threading.Event()).server == ""  # the local one: remote is busy
    assert local.runs == 1
    assert [s.name for s in pool.states()] == ["remote", "This computer"]
    remote.release()
    held.join(10)


def test_two_servers_share_the_jobs_of_one_queue(make_standin: Make) -> None:
    a, b = make_standin(), make_standin()
    a.hold.set()
    b.hold.set()
    pool = ServerPool([member("a", a), member("b", b)])
    results: list[GenerationResult] = []

    def job(seed: int) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: results.append(pool.generate(request(seed=seed), no_steps, threading.Event()))
        )
        thread.start()
        return thread

    first = job(1)
    assert a.step_reached.wait(10)  # equal queues: the first server in the list
    second = job(2)
    assert b.step_reached.wait(10)  # "a" is busy now: the other one
    a.release()
    b.release()
    first.join(10)
    second.join(10)
    assert sorted((r.server, r.seeds) for r in results) == [("a", (1,)), ("b", (2,))]
