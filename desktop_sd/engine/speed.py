"""Speed settings: the precision each device runs in, CPU threads, memory layout and the opt-in ``torch.compile``.

On a CPU with native bfloat16 (AVX512-BF16 or AMX) the UNet and text encoders run in bfloat16, about 1.6x
faster than float32 at SD 1.5 size; elsewhere bfloat16 is emulated and slower, so float32 stays. The VAE
always stays in float32 on the CPU: bfloat16's short mantissa shows in the decoded pixels, and the VAE is a
small part of the time. The pipelines call the VAE's ``encode`` with images in the pipeline's precision
(img2img, inpainting), so the VAE is given an ``encode`` that casts on the way in and out.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psutil
import torch
from diffusers import DiffusionPipeline
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKLOutput
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

from desktop_sd.core import paths
from desktop_sd.core.settings import CPU_PRECISIONS
from desktop_sd.engine.device import Device

log = logging.getLogger(__name__)

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
TEXT_ENCODERS = ("text_encoder", "text_encoder_2")
COMPILE_NOTICE = (
    "Compiling the model for this GPU (torch.compile): the first image takes a few minutes longer; "
    "later runs reuse the compiled code."
)


@dataclass(frozen=True)
class SpeedOptions:
    """How the engine trades exactness for speed. The defaults change nothing (float32 on the CPU, torch's own
    thread count, no compile): what a plain diffusers call does. The app passes ``automatic``."""

    cpu_precision: str = "float32"  # "auto", "float32" or "bfloat16"
    cpu_threads: int | None = None  # None: leave torch's own count
    compile_unet: bool = False  # torch.compile the UNet on a CUDA GPU (opt-in: the first run takes minutes)

    @classmethod
    def automatic(cls, cpu_precision: str = "auto", compile_unet: bool = False) -> SpeedOptions:
        """The app's choice: the precision the CPU runs fastest, one thread per physical core."""
        return cls(cpu_precision, physical_cores(), compile_unet)


def physical_cores() -> int:
    """Physical cores (hyper-threads share one core's arithmetic units and only contend for them)."""
    return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them; empty where there is no ``/proc/cpuinfo``."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def has_native_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU does bfloat16 arithmetic itself (otherwise torch emulates it, slower than float32)."""
    return any(flag in (cpu_flags() if flags is None else flags) for flag in NATIVE_BF16_FLAGS)


@functools.cache
def native_bf16_here() -> bool:
    """``has_native_bf16`` for this machine, read once."""
    return has_native_bf16()


def cpu_dtype(choice: str, native_bf16: bool) -> torch.dtype:
    """The UNet's and text encoders' precision on the CPU for the setting ``choice``."""
    if choice not in CPU_PRECISIONS:
        raise ValueError(f"Unknown CPU precision {choice!r}; choose one of: {', '.join(CPU_PRECISIONS)}.")
    if choice == "bfloat16" or (choice == "auto" and native_bf16):
        return torch.bfloat16
    return torch.float32


def tuned(device: Device, options: SpeedOptions, native_bf16: bool | None = None) -> Device:
    """``device`` with the precision ``options`` choose (only the CPU's changes: GPUs keep half precision)."""
    if device.kind != "cpu":
        return device
    if options.cpu_precision == "float32":
        return device
    dtype = cpu_dtype(options.cpu_precision, native_bf16_here() if native_bf16 is None else native_bf16)
    if dtype == device.dtype:
        return device
    return replace(device, dtype=dtype, vae_dtype=torch.float32)


def apply_threads(device: Device, options: SpeedOptions) -> None:
    if device.kind == "cpu" and options.cpu_threads and torch.get_num_threads() != options.cpu_threads:
        torch.set_num_threads(options.cpu_threads)


def prepare(pipe: DiffusionPipeline, device: Device, options: SpeedOptions) -> list[str]:
    """Cast ``pipe``'s parts to ``device``'s precisions and apply the speed settings; returns notices for the user.

    Runs once per loaded model, before the pipeline is placed on the device."""
    notices: list[str] = []
    for name in ("unet", *TEXT_ENCODERS):
        part = getattr(pipe, name, None)
        if part is not None and part.dtype != device.dtype:
            part.to(dtype=device.dtype)
    vae = getattr(pipe, "vae", None)
    if vae is not None:
        if vae.dtype != device.decode_dtype:
            vae.to(dtype=device.decode_dtype)
        if device.decode_dtype != device.dtype:
            encode_in_vae_dtype(vae)
    if device.torch_device.type == "cuda":
        pipe.unet.to(memory_format=torch.channels_last)  # cuDNN's fastest convolutions want NHWC
        if options.compile_unet:
            compile_unet(pipe)
            notices.append(COMPILE_NOTICE)
    return notices


def from_pipe(cls: type[DiffusionPipeline], source: DiffusionPipeline, device: Device) -> DiffusionPipeline:
    """``cls.from_pipe(source)`` keeping every part in its precision: diffusers' ``from_pipe`` casts the whole
    pipeline to float32 unless told a dtype, and to that one dtype when told. The VAE's own tensors are put
    back afterwards (no copy, no rounding through the UNet's precision)."""
    vae = getattr(source, "vae", None)
    kept = {name: p.data for name, p in vae.named_parameters()} if vae is not None else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # later diffusers rename torch_dtype to dtype
        pipe = cls.from_pipe(source, torch_dtype=device.dtype)
    if vae is not None and pipe.vae is vae and vae.dtype != device.decode_dtype:
        for name, parameter in vae.named_parameters():
            parameter.data = kept[name]
        vae.to(dtype=device.decode_dtype)  # buffers, if any
    return pipe


def keep_vae_precision(pipe: DiffusionPipeline, device: Device) -> None:
    """Put the VAE back in its precision before a decode: SDXL's img2img casts it to the pipeline's after
    an upcast encode."""
    vae = getattr(pipe, "vae", None)
    if vae is not None and vae.dtype != device.decode_dtype:
        vae.to(dtype=device.decode_dtype)


def encode_in_vae_dtype(vae: Any) -> None:
    """Give ``vae`` an ``encode`` that takes images in any precision and hands back latents in theirs."""
    if getattr(vae, "_desktop_sd_cast_encode", False):
        return
    original: Callable[..., Any] = vae.encode

    def encode(x: torch.Tensor, return_dict: bool = True) -> Any:
        output = original(x.to(vae.dtype), return_dict=True)
        moments = output.latent_dist.parameters.to(x.dtype)
        latent_dist = DiagonalGaussianDistribution(moments, deterministic=output.latent_dist.deterministic)
        return AutoencoderKLOutput(latent_dist=latent_dist) if return_dict else (latent_dist,)

    vae.encode = encode
    vae._desktop_sd_cast_encode = True


def compile_unet(pipe: DiffusionPipeline, compiler: Callable[..., Any] | None = None) -> None:
    """Swap the UNet for its ``torch.compile``'d self, with the compiled kernels cached under the app's cache
    folder so later sessions skip most of the compile time."""
    cache = paths.cache_dir() / "torch-compile"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache))
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    log.warning(COMPILE_NOTICE)
    pipe.unet = (compiler or torch.compile)(pipe.unet, mode="max-autotune-no-cudagraphs", fullgraph=False)
