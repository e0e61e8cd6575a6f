"""Cancelling: within one step (inside it, between blocks), no VAE decode, and the next job is unaffected."""

from __future__ import annotations

import threading

import pytest

from desktop_sd.core.errors import Cancelled
from desktop_sd.core.inputs import PipelineKind
from desktop_sd.core.request import GenerationRequest
from desktop_sd.engine import Engine
from tests.engine.helpers import max_diff, run


class DecodeSpy:
    """Counts VAE decodes on the engine's loaded model."""

    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        vae = engine._model.pipeline(PipelineKind.TXT2IMG).vae
        original = vae.decode

        def decode(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(vae, "decode", decode)


def test_cancel_stops_within_one_step_and_skips_the_decode(
    sd_engine: Engine, tiny_request: GenerationRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = tiny_request.replace(steps=6)
    reference = run(sd_engine, request)
    spy = DecodeSpy(sd_engine, monkeypatch)
    cancelled = threading.Event()
    seen: list[int] = []

    def on_step(step: int, total: int, preview) -> None:
        seen.append(step)
        if step == 2:
            cancelled.set()

    with pytest.raises(Cancelled):
        sd_engine.generate(request, on_step, cancelled)
    assert seen == [1, 2]
    assert spy.calls == 0

    again = run(sd_engine, request)  # the next job runs normally and gives the same image
    assert spy.calls == 1
    assert max_diff(again.images[0], reference.images[0]) == 0


def test_cancel_before_the_job_starts(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    cancelled = threading.Event()
    cancelled.set()
    seen: list[int] = []
    with pytest.raises(Cancelled):
        sd_engine.generate(tiny_request, lambda step, total, preview: seen.append(step), cancelled)
    assert seen == []


def test_cancel_on_the_last_step_still_skips_the_decode(
    sd_engine: Engine, tiny_request: GenerationRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(sd_engine, tiny_request)
    spy = DecodeSpy(sd_engine, monkeypatch)
    cancelled = threading.Event()

    def on_step(step: int, total: int, preview) -> None:
        if step == total:
            cancelled.set()
            cancelled.set()  # a double cancel is harmless

    with pytest.raises(Cancelled):
        sd_engine.generate(tiny_request, on_step, cancelled)
    assert spy.calls == 0


def test_cancel_while_the_model_loads_stops_before_the_next_component(
    tiny_model_dir, tiny_request: GenerationRequest
) -> None:
    """A cold load takes a minute on a slow disk: Esc must not wait for every component."""
    from desktop_sd.engine import interrupt
    from desktop_sd.models.resolve import resolve_model

    cancelled = threading.Event()
    heard: list[tuple[int, int, str]] = []
    original = interrupt.between_components

    def listening(on_component):  # the components diffusers loads, as the engine hears of them
        def on(k: int, n: int, name: str) -> None:
            heard.append((k, n, name))
            if k == 1:
                cancelled.set()  # the user cancels while the second component loads
            on_component(k, n, name)

        return original(on)

    engine = Engine(resolve=resolve_model, device="cpu")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("desktop_sd.engine.loading.between_components", listening)
        with pytest.raises(Cancelled):
            engine.generate(tiny_request, lambda *a: None, cancelled)
    assert [k for k, _n, _name in heard] == [0, 1]  # stopped before loading the component it was on
    assert heard[0][1] > 3 and engine.loads == 0
    result = run(engine, tiny_request)  # the next job loads the model in full and runs
    assert engine.loads == 1 and len(result.images) == 1


def test_cancel_inside_a_step_stops_before_the_step_ends(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    """A huge first step must not have to finish: the flag is checked between the UNet's blocks."""
    run(sd_engine, tiny_request)
    unet = sd_engine._model.pipeline(PipelineKind.TXT2IMG).unet
    cancelled = threading.Event()
    blocks_run: list[str] = []
    first_block = next(m for m in unet.modules() if type(m).__name__ == "ResnetBlock2D")

    def mid_step(module, _inputs, _output) -> None:
        blocks_run.append(type(module).__name__)
        cancelled.set()  # the user presses Esc while the first block of the first step runs

    handle = first_block.register_forward_hook(mid_step)
    seen: list[int] = []
    try:
        with pytest.raises(Cancelled):
            sd_engine.generate(tiny_request, lambda step, total, preview: seen.append(step), cancelled)
    finally:
        handle.remove()
    assert blocks_run == ["ResnetBlock2D"] and seen == []  # stopped inside step 1
    assert not any(m._forward_pre_hooks for m in unet.modules())  # no check left behind
    assert len(run(sd_engine, tiny_request).images) == 1


def test_cancel_during_the_decode_stops_it(
    sd_engine: Engine, tiny_request: GenerationRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(sd_engine, tiny_request)
    vae = sd_engine._model.pipeline(PipelineKind.TXT2IMG).vae
    cancelled = threading.Event()
    original = vae.decode

    def decode(*args, **kwargs):
        cancelled.set()  # Esc while the (at large sizes, minutes-long) decode runs
        return original(*args, **kwargs)

    monkeypatch.setattr(vae, "decode", decode)
    with pytest.raises(Cancelled):
        sd_engine.generate(tiny_request, lambda *a: None, cancelled)


def test_a_load_reports_each_component_and_then_the_prompt_encoding(
    tiny_model_dir, tiny_request: GenerationRequest
) -> None:
    from desktop_sd.core.backend import phase_listener
    from desktop_sd.models.resolve import resolve_model

    phases: list[str] = []
    engine = Engine(resolve=resolve_model, device="cpu")
    with phase_listener(phases.append):
        engine.generate(tiny_request, lambda *a: None, threading.Event())
    loading = [p for p in phases if p.startswith("Loading the model: ")]
    assert len(loading) > 3 and loading[0].endswith(f"(1 of {len(loading)})…")
    assert any("unet" in p for p in loading) and phases[-1] == "Encoding the prompt…"
