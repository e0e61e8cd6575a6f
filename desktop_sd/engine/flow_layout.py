"""Diffusers weight names of an SD 3 transformer back to the original (MMDiT, ``joint_blocks``) layout.

The inverse of diffusers' ``convert_sd3_transformer_checkpoint_to_diffusers``: tests write tiny SD 3
models the way Stability AI's and ComfyUI's files name them, then load them through the single-file
path a user's ``sd3.5_large.safetensors`` takes. (Flux's original layout cannot be written small:
diffusers' converter assumes FLUX.1's full 3072 width, so tiny Flux files keep diffusers' names.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

_TOP = {
    "pos_embed.pos_embed": "pos_embed",
    "pos_embed.proj.": "x_embedder.proj.",
    "time_text_embed.timestep_embedder.linear_1.": "t_embedder.mlp.0.",
    "time_text_embed.timestep_embedder.linear_2.": "t_embedder.mlp.2.",
    "time_text_embed.text_embedder.linear_1.": "y_embedder.mlp.0.",
    "time_text_embed.text_embedder.linear_2.": "y_embedder.mlp.2.",
    "context_embedder.": "context_embedder.",
    "proj_out.": "final_layer.linear.",
}
_BLOCK = {
    "attn.to_out.0.": "x_block.attn.proj.",
    "attn.to_add_out.": "context_block.attn.proj.",
    "attn.norm_q.": "x_block.attn.ln_q.",
    "attn.norm_k.": "x_block.attn.ln_k.",
    "attn.norm_added_q.": "context_block.attn.ln_q.",
    "attn.norm_added_k.": "context_block.attn.ln_k.",
    "attn2.to_out.0.": "x_block.attn2.proj.",
    "attn2.norm_q.": "x_block.attn2.ln_q.",
    "attn2.norm_k.": "x_block.attn2.ln_k.",
    "norm1.linear.": "x_block.adaLN_modulation.1.",
    "norm1_context.linear.": "context_block.adaLN_modulation.1.",
    "ff.net.0.proj.": "x_block.mlp.fc1.",
    "ff.net.2.": "x_block.mlp.fc2.",
    "ff_context.net.0.proj.": "context_block.mlp.fc1.",
    "ff_context.net.2.": "context_block.mlp.fc2.",
}
_QKV = {  # original fused projection -> diffusers' three
    "x_block.attn.qkv.": ("attn.to_q.", "attn.to_k.", "attn.to_v."),
    "context_block.attn.qkv.": ("attn.add_q_proj.", "attn.add_k_proj.", "attn.add_v_proj."),
    "x_block.attn2.qkv.": ("attn2.to_q.", "attn2.to_k.", "attn2.to_v."),
}


def _swap_halves(value: torch.Tensor) -> torch.Tensor:
    """Diffusers orders the final modulation (scale, shift); the original (shift, scale)."""
    first, second = value.chunk(2, dim=0)
    return torch.cat([second, first], dim=0)


def _rename(key: str, table: Mapping[str, str]) -> str | None:
    for start, new in table.items():
        if key.startswith(start):
            return new + key[len(start) :]
    return None


def sd3_to_original(
    state: Mapping[str, torch.Tensor], prefix: str = "model.diffusion_model."
) -> dict[str, torch.Tensor]:
    """Rename a diffusers ``SD3Transformer2DModel`` state dict to the original names (under ``prefix``)."""
    layers = 1 + max(int(m[1]) for k in state if (m := re.match(r"transformer_blocks\.(\d+)\.", k)))
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        m = re.match(r"transformer_blocks\.(\d+)\.(.+)", key)
        if m is None:
            name = _rename(key, _TOP)
            if name is None and key.startswith("norm_out.linear."):
                name, value = (
                    "final_layer.adaLN_modulation.1." + key.removeprefix("norm_out.linear."),
                    _swap_halves(value),
                )
            if name is None:
                raise KeyError(f"no original-layout name for SD 3 weight {key!r}")
            out[prefix + name] = value
            continue
        index, rest = int(m[1]), m[2]
        block = f"joint_blocks.{index}."
        if any(rest.startswith(p) for parts in _QKV.values() for p in parts):
            continue  # fused below
        name = _rename(rest, _BLOCK)
        if name is None:
            raise KeyError(f"no original-layout name for SD 3 weight {key!r}")
        if rest.startswith("norm1_context.") and index == layers - 1:
            value = _swap_halves(value)  # the last block's context modulation is a final-layer style one
        out[prefix + block + name] = value
    for index in range(layers):
        for fused, parts in _QKV.items():
            for kind in ("weight", "bias"):
                keys = [f"transformer_blocks.{index}.{p}{kind}" for p in parts]
                if all(k in state for k in keys):
                    out[f"{prefix}joint_blocks.{index}.{fused}{kind}"] = torch.cat([state[k] for k in keys], dim=0)
    return out
