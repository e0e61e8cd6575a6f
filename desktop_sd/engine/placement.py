"""Putting a pipeline on the device at a memory tier (the torch side of ``tiers``)."""

from __future__ import annotations

from diffusers import DiffusionPipeline

from desktop_sd.core.request import MemoryTier
from desktop_sd.engine.device import Device
from desktop_sd.engine.tiers import SETUPS


def apply_tier(pipe: DiffusionPipeline, tier: MemoryTier, device: Device, *, vae_tiling: bool = False) -> None:
    """Place ``pipe`` for ``tier``: whole on the device, one model at a time, or layer by layer.

    Hooks from an earlier tier are removed first. Sequential offload is applied
    to a pipeline still on the CPU (moving it to the GPU first would defeat it).
    """
    setup = SETUPS[tier]
    pipe.remove_all_hooks()
    if tier is MemoryTier.GPU:
        pipe.to(device.torch_device)
    elif tier is MemoryTier.MODEL_OFFLOAD:
        pipe.enable_model_cpu_offload(device=device.torch_device)
    else:
        if pipe.device.type != "cpu":
            pipe.to("cpu")
        pipe.enable_sequential_cpu_offload(device=device.torch_device)
    set_vae_tiling(pipe, setup.vae_tiling or vae_tiling)
    if setup.attention_slicing:
        pipe.enable_attention_slicing()
    else:
        pipe.disable_attention_slicing()


def set_vae_tiling(pipe: DiffusionPipeline, enabled: bool) -> None:
    if enabled:
        pipe.vae.enable_tiling()
    else:
        pipe.vae.disable_tiling()


def detach(pipe: DiffusionPipeline) -> None:
    """Remove offload hooks (weights go back to the CPU copy they came from)."""
    pipe.remove_all_hooks()
