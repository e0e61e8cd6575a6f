"""The memory ladder, driven on the CPU by injecting out-of-memory errors.

A fake accelerator (kind "cuda", running on the CPU) makes the engine walk
the full ladder; the placement calls are recorded instead of moving weights.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import torch

from desktop_sd.core import paths
from desktop_sd.core.errors import OutOfMemoryError
from desktop_sd.core.request import GenerationRequest, MemoryTier
from desktop_sd.engine import Engine, placement
from desktop_sd.engine import device as devices
from desktop_sd.engine import run as engine_run
from desktop_sd.engine.device import Device
from desktop_sd.engine.tiers import GIB, MEMORY_FILE, TierMemory, choose_start_tier, next_tier
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import max_diff, run

FULL = tuple(MemoryTier)
FAKE_GPU = Device("cuda", torch.device("cpu"), torch.float32, "Fake GPU")


@dataclass
class FakeGpu:
    free: int = 64 * GIB
    applied: list[MemoryTier] = field(default_factory=list)
    freed: int = 0
    denoise_failures: int = 0
    decode_failures: int = 0
    tiled_decodes: int = 0


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGpu]:
    state = FakeGpu()
    real_apply, real_denoise, real_decode = placement.apply_tier, engine_run.denoise, engine_run.decode
    real_pick = devices.pick_device

    def apply_tier(pipe, tier, device, *, vae_tiling=False):
        if device.kind == "cpu":
            return real_apply(pipe, tier, device, vae_tiling=vae_tiling)
        state.applied.append(tier)
        real_apply(pipe, MemoryTier.GPU, device, vae_tiling=vae_tiling)  # really stays on the CPU

    def denoise(*args, **kwargs):
        if state.denoise_failures:
            state.denoise_failures -= 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_denoise(*args, **kwargs)

    def decode(pipe, latents, spec):
        if state.decode_failures:
            state.decode_failures -= 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        state.tiled_decodes += bool(pipe.vae.use_tiling)
        return real_decode(pipe, latents, spec)

    def free_caches(device):
        state.freed += 1

    # device="cpu" still gets the real CPU (for reference images); anything else the fake GPU.
    monkeypatch.setattr(devices, "pick_device", lambda choice="auto": real_pick("cpu") if choice == "cpu" else FAKE_GPU)
    monkeypatch.setattr(devices, "free_memory", lambda device: state.free)
    monkeypatch.setattr(devices, "free_caches", free_caches)
    monkeypatch.setattr(placement, "apply_tier", apply_tier)
    monkeypatch.setattr(engine_run, "denoise", denoise)
    monkeypatch.setattr(engine_run, "decode", decode)
    yield state


def remembered() -> dict[str, str]:
    return json.loads((paths.data_dir() / MEMORY_FILE).read_text())


def test_start_tier_follows_free_memory_and_memory() -> None:
    model, largest = 5 * GIB, 3 * GIB
    assert choose_start_tier(FULL, 16 * GIB, model, largest) is MemoryTier.GPU
    assert choose_start_tier(FULL, 5 * GIB, model, largest) is MemoryTier.MODEL_OFFLOAD
    assert choose_start_tier(FULL, 2 * GIB, model, largest) is MemoryTier.SEQUENTIAL_OFFLOAD
    assert choose_start_tier(FULL, 16 * GIB, model, largest, MemoryTier.MODEL_OFFLOAD) is MemoryTier.MODEL_OFFLOAD
    assert choose_start_tier(FULL, 2 * GIB, model, largest, MemoryTier.GPU) is MemoryTier.SEQUENTIAL_OFFLOAD
    assert choose_start_tier((MemoryTier.GPU,), None, model, largest, MemoryTier.MODEL_OFFLOAD) is MemoryTier.GPU
    assert next_tier(FULL, MemoryTier.GPU) is MemoryTier.MODEL_OFFLOAD
    assert next_tier(FULL, MemoryTier.SEQUENTIAL_OFFLOAD) is None


def test_out_of_memory_steps_down_and_is_remembered(gpu: FakeGpu, tiny_request: GenerationRequest) -> None:
    reference = run(Engine(resolve=resolve_model, device="cpu"), tiny_request)
    gpu.denoise_failures = 1
    engine = Engine(resolve=resolve_model)
    result = run(engine, tiny_request)
    assert result.tier is MemoryTier.MODEL_OFFLOAD
    assert gpu.applied == [MemoryTier.GPU, MemoryTier.MODEL_OFFLOAD]
    assert gpu.freed >= 1
    assert any("model offload" in n for n in result.notices)
    assert max_diff(result.images[0], reference.images[0]) == 0  # the retry repeats the same seeds
    assert engine.status().tier is MemoryTier.MODEL_OFFLOAD
    assert remembered() == {f"{tiny_request.model}|cuda:Fake GPU": "model_offload"}

    gpu.applied.clear()
    fresh = Engine(resolve=resolve_model)  # next session starts where it worked
    assert run(fresh, tiny_request).tier is MemoryTier.MODEL_OFFLOAD
    assert gpu.applied == [MemoryTier.MODEL_OFFLOAD]


def test_decode_out_of_memory_is_retried_tiled(gpu: FakeGpu, tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model)
    gpu.decode_failures = 1
    result = run(engine, tiny_request)
    assert result.tier is MemoryTier.GPU
    assert gpu.tiled_decodes == 1
    assert any("tiles" in n for n in result.notices)
    assert len(result.images) == 1
    assert run(engine, tiny_request).images  # the next generation succeeds


def test_tiled_decode_out_of_memory_steps_down(gpu: FakeGpu, tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model)
    gpu.decode_failures = 2
    result = run(engine, tiny_request)
    assert result.tier is MemoryTier.MODEL_OFFLOAD
    assert gpu.applied == [MemoryTier.GPU, MemoryTier.MODEL_OFFLOAD]


def test_out_of_memory_on_every_tier_gives_a_tip(gpu: FakeGpu, tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model)
    gpu.denoise_failures = 3
    with pytest.raises(OutOfMemoryError, match=r"even with sequential offload\. Try a smaller size or a smaller batch"):
        run(engine, tiny_request.replace(batch_size=2))
    assert gpu.applied == list(FULL)
    assert run(engine, tiny_request).images  # memory freed; the next job runs


def test_little_free_memory_starts_lower(gpu: FakeGpu, tiny_request: GenerationRequest) -> None:
    gpu.free = GIB // 2
    result = run(Engine(resolve=resolve_model), tiny_request)
    assert result.tier is MemoryTier.SEQUENTIAL_OFFLOAD
    assert gpu.applied == [MemoryTier.SEQUENTIAL_OFFLOAD]


def test_model_offload_gives_the_same_pixels(monkeypatch: pytest.MonkeyPatch, tiny_request: GenerationRequest) -> None:
    reference = run(Engine(resolve=resolve_model, device="cpu"), tiny_request)
    monkeypatch.setattr(devices, "pick_device", lambda choice="auto": FAKE_GPU)
    monkeypatch.setattr(devices, "free_memory", lambda device: 0)
    monkeypatch.setattr(devices, "ladder", lambda device: (MemoryTier.MODEL_OFFLOAD,))
    engine = Engine(resolve=resolve_model)
    result = run(engine, tiny_request)  # real accelerate hooks, offloading to the CPU itself
    assert result.tier is MemoryTier.MODEL_OFFLOAD
    assert max_diff(result.images[0], reference.images[0]) == 0
    img2img = run(engine, tiny_request.replace(mode="img2img", init_image=reference.images[0]))
    assert img2img.images[0].size == (64, 64)


def test_tier_memory_survives_a_corrupt_file() -> None:
    memory = TierMemory()
    memory.path.write_text("{not json")
    assert memory.get("m", "cuda:x") is None
    memory.put("m", "cuda:x", MemoryTier.SEQUENTIAL_OFFLOAD)
    assert TierMemory().get("m", "cuda:x") is MemoryTier.SEQUENTIAL_OFFLOAD
    assert TierMemory().get("other", "cuda:x") is None


def test_tier_memory_on_a_full_disk_keeps_the_old_file_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import errno
    import os

    memory = TierMemory()
    memory.put("m", "cuda:x", MemoryTier.MODEL_OFFLOAD)
    before = memory.path.read_bytes()

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", full)
        memory.put("m", "cuda:x", MemoryTier.SEQUENTIAL_OFFLOAD)  # a hint lost, never an error
    assert memory.path.read_bytes() == before
    assert sorted(p.name for p in memory.path.parent.iterdir() if "tier" in p.name) == [MEMORY_FILE]
    assert any("the disk is full" in r.getMessage() for r in caplog.records)


def test_cpu_out_of_memory_fails_with_a_tip(monkeypatch: pytest.MonkeyPatch, tiny_request: GenerationRequest) -> None:
    def denoise(*args, **kwargs):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 99999999 bytes")

    monkeypatch.setattr(engine_run, "denoise", denoise)
    with pytest.raises(OutOfMemoryError, match=r"at 64x64 with a batch of 1\. Try a smaller size"):
        run(Engine(resolve=resolve_model, device="cpu"), tiny_request)


class RecordingPipe:
    """Stands in for a pipeline and records what placement asks of it."""

    def __init__(self, on_device: str = "cpu") -> None:
        self.calls: list[str] = []
        self.device = torch.device(on_device)
        outer = self

        class Vae:
            def enable_tiling(self) -> None:
                outer.calls.append("vae tiling on")

            def disable_tiling(self) -> None:
                outer.calls.append("vae tiling off")

        self.vae = Vae()

    def remove_all_hooks(self) -> None:
        self.calls.append("remove hooks")

    def to(self, device) -> None:
        self.calls.append(f"to {torch.device(device).type}")

    def enable_model_cpu_offload(self, device) -> None:
        self.calls.append(f"model offload to {device.type}")

    def enable_sequential_cpu_offload(self, device) -> None:
        self.calls.append(f"sequential offload to {device.type}")

    def enable_attention_slicing(self) -> None:
        self.calls.append("slicing on")

    def disable_attention_slicing(self) -> None:
        self.calls.append("slicing off")


CUDA = Device("cuda", torch.device("cuda", 0), torch.float16, "Some GPU")


@pytest.mark.parametrize(
    ("tier", "on_device", "expected"),
    [
        (MemoryTier.GPU, "cpu", ["remove hooks", "to cuda", "vae tiling off", "slicing off"]),
        (MemoryTier.MODEL_OFFLOAD, "cpu", ["remove hooks", "model offload to cuda", "vae tiling off", "slicing off"]),
        (
            MemoryTier.SEQUENTIAL_OFFLOAD,
            "cpu",
            ["remove hooks", "sequential offload to cuda", "vae tiling on", "slicing on"],
        ),
        (  # coming down from the GPU tier: back to the CPU first, never offloading from the GPU
            MemoryTier.SEQUENTIAL_OFFLOAD,
            "cuda",
            ["remove hooks", "to cpu", "sequential offload to cuda", "vae tiling on", "slicing on"],
        ),
    ],
)
def test_what_each_tier_applies(tier: MemoryTier, on_device: str, expected: list[str]) -> None:
    pipe = RecordingPipe(on_device)
    placement.apply_tier(pipe, tier, CUDA)
    assert pipe.calls == expected
