"""Speed settings: bfloat16 on CPUs that run it natively (the VAE kept in float32), the fast TAESD decode,
and the GPU's layout and opt-in compile, prepared without a GPU."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from desktop_sd.core import paths
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.engine import Engine, previews, speed
from desktop_sd.engine.device import Device, pick_device
from desktop_sd.engine.random_models import build_pipeline
from desktop_sd.library.metadata import a1111_parameters
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import gradient, max_diff, pixels, run
from tests.engine.test_engine_previews import random_taesd

BF16 = speed.SpeedOptions(cpu_precision="bfloat16")
CPU = pick_device("cpu")


@pytest.mark.parametrize(
    ("choice", "native", "expected"),
    [
        ("auto", True, torch.bfloat16),
        ("auto", False, torch.float32),
        ("float32", True, torch.float32),
        ("bfloat16", False, torch.bfloat16),
    ],
)
def test_cpu_precision_follows_the_setting_and_the_cpu(choice: str, native: bool, expected: torch.dtype) -> None:
    device = speed.tuned(CPU, speed.SpeedOptions(cpu_precision=choice), native_bf16=native)
    assert device.dtype == expected
    assert device.decode_dtype == torch.float32  # the VAE never leaves float32 on the CPU


def test_gpus_keep_half_precision_whatever_the_cpu_setting() -> None:
    gpu = Device("cuda", torch.device("cuda", 0), torch.float16, "Some GPU")
    assert speed.tuned(gpu, speed.SpeedOptions(cpu_precision="bfloat16"), native_bf16=True) == gpu


def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 sha_ni\n")
    assert speed.has_native_bf16(speed.cpu_flags(cpuinfo))
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n")
    assert not speed.has_native_bf16(speed.cpu_flags(cpuinfo))
    assert speed.has_native_bf16(frozenset({"amx_bf16", "amx_tile"}))
    assert speed.cpu_flags(tmp_path / "absent") == frozenset()  # not Linux: float32 stays


def test_unknown_precision_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"float16.*auto, float32, bfloat16"):
        speed.cpu_dtype("float16", native_bf16=True)


def test_bfloat16_runs_unet_and_text_encoder_in_bf16_and_the_vae_in_float32(
    tiny_request: GenerationRequest,
) -> None:
    reference = run(Engine(resolve=resolve_model, device="cpu"), tiny_request)
    engine = Engine(resolve=resolve_model, device="cpu", speed_options=BF16)
    result = run(engine, tiny_request)
    assert engine._model is not None
    pipe = next(iter(engine._model._pipes.values()))
    assert (pipe.unet.dtype, pipe.text_encoder.dtype, pipe.vae.dtype) == (torch.bfloat16, torch.bfloat16, torch.float32)
    # The same picture, within bfloat16's rounding: not noise, not a flat image.
    mean = float(np.abs(pixels(result.images[0]) - pixels(reference.images[0])).mean())
    assert mean < 8 and pixels(result.images[0]).std() > 10


def test_bfloat16_img2img_and_inpaint_encode_through_the_float32_vae(tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model, device="cpu", speed_options=BF16)
    image = gradient()
    mask = gradient().convert("L")
    for request in (
        tiny_request.replace(mode=Mode.IMG2IMG, init_image=image, strength=0.6),
        tiny_request.replace(mode=Mode.INPAINT, init_image=image, mask=mask, strength=0.9),
    ):
        result = run(engine, request)
        assert result.images[0].size == (64, 64)
    assert engine._model is not None and engine.loads == 1
    for pipe in engine._model._pipes.values():  # a mode switch (from_pipe) keeps each part's precision
        assert (pipe.unet.dtype, pipe.vae.dtype) == (torch.bfloat16, torch.float32)


def test_fast_decode_uses_taesd_and_says_so_in_the_metadata(tiny_request: GenerationRequest) -> None:
    random_taesd(previews.taesd_folder(xl=False))
    engine = Engine(resolve=resolve_model, device="cpu")
    full = run(engine, tiny_request)
    fast = run(engine, tiny_request.replace(fast_decode=True))
    assert fast.request.fast_decode and not fast.notices
    assert fast.images[0].size == full.images[0].size == (64, 64)
    assert max_diff(fast.images[0], full.images[0]) > 20  # another decoder made it
    assert "Decoder: TAESD" in a1111_parameters(fast.request, "tiny")
    assert "Decoder" not in a1111_parameters(full.request, "tiny")


def test_fast_decode_without_taesd_falls_back_to_the_vae_and_tells(tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model, device="cpu")
    full = run(engine, tiny_request)
    result = run(engine, tiny_request.replace(fast_decode=True))
    assert not result.request.fast_decode
    assert any("Fast decode needs TAESD" in notice for notice in result.notices)
    assert max_diff(result.images[0], full.images[0]) == 0
    assert "Decoder" not in a1111_parameters(result.request, "tiny")


def test_gpu_preparation_uses_channels_last_and_compiles_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    gpu = Device("cuda", torch.device("cuda", 0), torch.float32, "Some GPU")  # prepared in place; nothing moves
    pipe = build_pipeline("tiny")
    assert speed.prepare(pipe, gpu, speed.SpeedOptions()) == []
    weight = pipe.unet.conv_in.weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    processors = {type(p).__name__ for p in pipe.unet.attn_processors.values()}
    assert processors == {"AttnProcessor2_0"}  # scaled_dot_product_attention
    notices = speed.prepare(pipe, gpu, speed.SpeedOptions(compile_unet=True))
    assert notices == [speed.COMPILE_NOTICE]
    assert isinstance(pipe.unet, torch._dynamo.eval_frame.OptimizedModule)  # compiled on its first call
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(paths.cache_dir() / "torch-compile")  # kept between runs
    assert not speed.prepare(build_pipeline("tiny"), CPU, speed.SpeedOptions(compile_unet=True))  # GPUs only


def test_sdxl_in_bfloat16_keeps_its_vae_in_float32_through_img2img(tiny_sdxl_dir: Path) -> None:
    engine = Engine(resolve=resolve_model, device="cpu", speed_options=BF16)
    request = GenerationRequest(Mode.TXT2IMG, "a fox", model=str(tiny_sdxl_dir), width=64, height=64, steps=2, seed=3)
    first = run(engine, request)
    again = run(engine, request.replace(mode=Mode.IMG2IMG, init_image=first.images[0], strength=0.5))
    assert engine._model is not None
    pipe = next(iter(engine._model._pipes.values()))
    assert (pipe.unet.dtype, pipe.text_encoder_2.dtype, pipe.vae.dtype) == (torch.bfloat16,) * 2 + (torch.float32,)
    assert pixels(again.images[0]).std() > 10
