"""Flux.1 and SD 3 LoRA files as diffusers' loaders take them.

``FluxPipeline.load_lora_weights`` converts kohya (``lora_unet_double_blocks_0_img_attn_qkv``),
XLabs (``double_blocks.0.processor.qkv_lora1``) and diffusers/PEFT (``transformer.…``) files itself.
Two cases need a word before it runs:

- BFL/ComfyUI naming with ``lora_A``/``lora_B`` (``diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight``),
  which its Flux.1 loader passes over without loading anything: the tensors are renamed to kohya's
  names for the same layers, which it converts (fused qkv split, alpha scaling: diffusers' code, not ours).
- SD 3: ``StableDiffusion3Pipeline.load_lora_weights`` converts nothing, so a file in kohya or SAI
  naming (``lora_unet_joint_blocks_…``) would load no layer; it is refused by name instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from diffusers import DiffusionPipeline, FluxTransformer2DModel, SD3Transformer2DModel
from safetensors.torch import load_file

from desktop_sd.core.errors import InputError
from desktop_sd.core.request import Family

_BFL_PREFIX = "diffusion_model."
# Flux.1's top-level modules in BFL's naming (the kohya converter knows these).
_BFL_MODULES = (
    "double_blocks.",
    "single_blocks.",
    "img_in",
    "txt_in",
    "time_in",
    "vector_in",
    "guidance_in",
    "final_layer",
)
_KOHYA_ENDINGS = {
    ".lora_A.weight": ".lora_down.weight",
    ".lora_B.weight": ".lora_up.weight",
    ".lora_down.weight": ".lora_down.weight",
    ".lora_up.weight": ".lora_up.weight",
    ".alpha": ".alpha",
}
_SD3_PREFIXES = ("transformer.", "text_encoder.", "text_encoder_2.")


def pipeline_family(pipe: DiffusionPipeline) -> Family | None:
    """Flux.1 or SD 3 for a pipeline with that family's transformer; None for a UNet model."""
    transformer = getattr(pipe, "transformer", None)
    if isinstance(transformer, FluxTransformer2DModel):
        return Family.FLUX
    if isinstance(transformer, SD3Transformer2DModel):
        return Family.SD3
    return None


def check_naming(name: str, keys: Iterable[str], family: Family) -> None:
    """Refuse an SD 3 LoRA that diffusers cannot read (anything but diffusers/PEFT naming)."""
    keys = list(keys)
    if family is not Family.SD3 or any(key.startswith(_SD3_PREFIXES) for key in keys):
        return
    example = next(iter(keys), "")
    raise InputError(
        f"LoRA {name!r} is an SD 3 LoRA in kohya or ComfyUI naming ({example.split('.')[0]}…), which Desktop SD "
        "cannot load: SD 3 LoRAs load in diffusers naming (transformer.…) only. Look for a diffusers version of it."
    )


def lora_source(path: Path, family: Family) -> str | dict[str, torch.Tensor]:
    """What to hand ``load_lora_weights``: the file's path, or for a Flux.1 LoRA in BFL naming its tensors
    under kohya's names."""
    if family is not Family.FLUX:
        return str(path)
    tensors = load_file(str(path))
    renamed = _bfl_to_kohya(tensors)
    return renamed if renamed is not None else str(path)


def _bfl_to_kohya(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor] | None:
    """The tensors under kohya's names when every transformer key is in BFL naming; None to load as it is."""
    if any(".processor." in key for key in tensors):
        return None  # XLabs: diffusers converts it
    renamed: dict[str, torch.Tensor] = {}
    found = False
    for key, tensor in tensors.items():
        new = _kohya_name(key)
        if new is None:
            renamed[key] = tensor  # text encoder keys and the like: left to diffusers
            continue
        found = True
        renamed[new] = tensor
    return renamed if found else None


def _kohya_name(key: str) -> str | None:
    bare = key.removeprefix(_BFL_PREFIX)
    if not bare.startswith(_BFL_MODULES):
        return None
    for ending, kohya in _KOHYA_ENDINGS.items():
        if bare.endswith(ending):
            module = bare.removesuffix(ending)
            return "lora_unet_" + module.replace(".", "_") + kohya
    return None
