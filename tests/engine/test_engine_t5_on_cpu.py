"""Under model offload, T5-XXL stays on the CPU: it does not count toward what must fit on the GPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from desktop_sd.core.request import GenerationRequest, MemoryTier, Mode
from desktop_sd.engine import Engine, placement
from desktop_sd.engine import device as devices
from desktop_sd.engine.device import Device
from desktop_sd.engine.random_flow_models import save_flux_pipeline
from desktop_sd.engine.tiers import WORKING_MARGIN
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import max_diff, run

# A device that reports itself as a GPU but computes on the CPU, so model offload really runs here.
FAKE_GPU = Device("cuda", torch.device("cpu"), torch.float32, "Fake GPU")


def test_t5_runs_on_the_cpu_under_model_offload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = save_flux_pipeline(tmp_path / "tiny-flux", t5_ff=4096)
    request = GenerationRequest(Mode.TXT2IMG, "a fox", model=str(folder), width=64, height=64, steps=2, seed=5)
    reference = run(Engine(resolve=resolve_model, device="cpu"), request)

    engine = Engine(resolve=resolve_model)
    model_bytes: dict[str, int] = {}

    def free_memory(device: Device) -> int:
        # enough for the largest component on the device, not for the whole model
        return int(WORKING_MARGIN) + model_bytes["largest"] + 1

    real_pick = devices.pick_device
    monkeypatch.setattr(devices, "pick_device", lambda choice="auto": real_pick("cpu") if choice == "cpu" else FAKE_GPU)
    monkeypatch.setattr(devices, "free_memory", free_memory)
    monkeypatch.setattr(devices, "free_caches", lambda device: None)
    kept: list[tuple[str, ...]] = []
    hooks: list[object] = []
    real_keep = placement.keep_on_cpu
    monkeypatch.setattr(placement, "keep_on_cpu", lambda pipe, names: (kept.append(names), real_keep(pipe, names)))

    from desktop_sd.engine import pipelines

    real_init = pipelines.LoadedModel.__init__

    def spy_init(self: pipelines.LoadedModel, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]
        t5 = sum(p.numel() * p.element_size() for p in self.base.text_encoder_2.parameters())
        assert t5 > self.largest_bytes  # in this tiny model T5 is the largest part, as in the real one
        model_bytes["largest"] = self.largest_bytes
        # which hook T5 runs under, each time the prompt is encoded
        self.base.text_encoder_2.register_forward_pre_hook(
            lambda module, _inputs: hooks.append(getattr(module, "_hf_hook", None))
        )

    monkeypatch.setattr(pipelines.LoadedModel, "__init__", spy_init)
    first = run(engine, request)
    second = run(engine, request)  # the pipeline set model offload up afresh after the first call
    assert first.tier is second.tier is MemoryTier.MODEL_OFFLOAD
    assert kept == [("text_encoder_2",)] * 4  # denoise and decode, twice
    assert len(hooks) == 2 and all(isinstance(h, placement._OnCpu) for h in hooks)
    assert max_diff(first.images[0], reference.images[0]) <= 1
    assert max_diff(second.images[0], reference.images[0]) <= 1
