"""Diffusers weight names back to the original (LDM) checkpoint layout of SD 1.x.

The inverse of what ``diffusers.loaders.single_file_utils`` does when it loads
a ``.safetensors`` checkpoint: tests and benchmarks write tiny models in the
layout real community checkpoints use, then load them through the same
single-file path a user's file takes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CLIP_PREFIX = "cond_stage_model.transformer."

_UNET_FIXED = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
_UNET_RESNET = (
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
)
_VAE_ATTENTION = (
    ("group_norm", "norm"),
    ("to_q", "q"),
    ("to_k", "k"),
    ("to_v", "v"),
    ("to_out.0", "proj_out"),
)


def _rename_parts(rest: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for new, old in pairs:
        if rest == new or rest.startswith(new + "."):
            return old + rest[len(new) :]
    return rest


def unet_to_ldm(state: Mapping[str, torch.Tensor], config: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Rename a diffusers UNet state dict to ``model.diffusion_model.*`` keys."""
    per_level = int(config["layers_per_block"]) + 1
    up_has_attention = ["CrossAttn" in name for name in config["up_block_types"]]
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        new = _unet_key(key, per_level, up_has_attention)
        out[UNET_PREFIX + new] = value
    return out


def _unet_key(key: str, per_level: int, up_has_attention: list[bool]) -> str:
    for new, old in _UNET_FIXED.items():
        if key.startswith(new + "."):
            return old + key[len(new) :]
    if m := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)", key):
        level, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        index = per_level * level + j + 1
        if kind == "resnets":
            return f"input_blocks.{index}.0.{_rename_parts(rest, _UNET_RESNET)}"
        return f"input_blocks.{index}.1.{rest}"
    if m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
        return f"input_blocks.{per_level * (int(m[1]) + 1)}.0.op.{m[2]}"
    if m := re.match(r"mid_block\.resnets\.(\d+)\.(.+)", key):
        return f"middle_block.{2 * int(m[1])}.{_rename_parts(m[2], _UNET_RESNET)}"
    if m := re.match(r"mid_block\.attentions\.0\.(.+)", key):
        return f"middle_block.1.{m[1]}"
    if m := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)", key):
        level, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        index = per_level * level + j
        if kind == "resnets":
            return f"output_blocks.{index}.0.{_rename_parts(rest, _UNET_RESNET)}"
        return f"output_blocks.{index}.1.{rest}"
    if m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
        level = int(m[1])
        slot = 2 if up_has_attention[level] else 1
        return f"output_blocks.{per_level * level + per_level - 1}.{slot}.conv.{m[2]}"
    raise KeyError(f"no original-layout name for UNet weight {key!r}")


def vae_to_ldm(state: Mapping[str, torch.Tensor], config: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Rename a diffusers ``AutoencoderKL`` state dict to ``first_stage_model.*`` keys.

    Mid-block attention weights become 1x1 convolutions, as in the original files.
    """
    levels = len(config["up_block_types"])
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        new, is_attention = _vae_key(key, levels)
        if is_attention and new.endswith(".weight") and value.ndim == 2:
            value = value[:, :, None, None]
        out[VAE_PREFIX + new] = value
    return out


def _vae_key(key: str, levels: int) -> tuple[str, bool]:
    key = key.replace("conv_norm_out", "norm_out")
    if m := re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)", key):
        rest = m[3].replace("conv_shortcut", "nin_shortcut")
        return f"{m[1]}.mid.block_{int(m[2]) + 1}.{rest}", False
    if m := re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.+)", key):
        return f"{m[1]}.mid.attn_1.{_rename_parts(m[2], _VAE_ATTENTION)}", True
    if m := re.match(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
        return f"encoder.down.{m[1]}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}", False
    if m := re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
        return f"encoder.down.{m[1]}.downsample.conv.{m[2]}", False
    if m := re.match(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
        level = levels - 1 - int(m[1])
        return f"decoder.up.{level}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}", False
    if m := re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
        return f"decoder.up.{levels - 1 - int(m[1])}.upsample.conv.{m[2]}", False
    if re.match(r"(encoder|decoder)\.(conv_in|conv_out|norm_out)\.", key) or key.startswith(
        ("quant_conv.", "post_quant_conv.")
    ):
        return key, False
    raise KeyError(f"no original-layout name for VAE weight {key!r}")


def clip_to_ldm(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Prefix CLIP text-encoder weights as SD 1.x checkpoints do (``...transformer.text_model.*``).

    transformers 5 names a ``CLIPTextModel``'s weights without ``text_model.``;
    older versions kept it. Either way the file gets the original names.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key if key.startswith("text_model.") else "text_model." + key
        out[CLIP_PREFIX + name] = value
    return out
