"""The sizes of SD 3 / Flux.1 parts, read from their tensors' shapes.

The shipped configs (``resources/model-configs/sd3``, ``/flux``) are SD 3.5 Large's and FLUX.1 [dev]'s.
SD 3 Medium, SD 3.5 Medium and Large, Flux dev, schnell and Fill, and the text encoders people pair
with them differ in sizes that every file shows in its shapes: layer counts, widths, SD 3.5 Medium's
extra attention layers, Flux's guidance input and Fill's wider input. Each function returns only what
it can read, as overrides of the shipped config. What shapes cannot tell (activation functions, Flux's
rotary axes, the VAE's group count) stays the shipped value: every published model of the family
shares it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

Shapes = Mapping[str, tuple[int, ...]]

CLIP_HEAD_DIM = 64  # CLIP-L (12 x 64) and OpenCLIP bigG (20 x 64) alike
SD3_HEAD_DIM = 64


def _count(shapes: Shapes, pattern: str) -> int:
    rx = re.compile(pattern)
    found = {m.group(1) for key in shapes if (m := rx.match(key))}
    return len(found)


def _indices(shapes: Shapes, pattern: str) -> list[int]:
    rx = re.compile(pattern)
    return sorted({int(m.group(1)) for key in shapes if (m := rx.match(key))})


def sd3_transformer(shapes: Shapes) -> dict[str, Any]:
    """SD 3 / 3.5 MMDiT sizes, from the original (``joint_blocks``) or diffusers layout."""
    if any(k.startswith("joint_blocks.") for k in shapes):
        embed = shapes["x_embedder.proj.weight"]
        context = shapes["context_embedder.weight"]
        pooled = shapes["y_embedder.mlp.0.weight"]
        positions = shapes["pos_embed"][1]
        layers = _count(shapes, r"joint_blocks\.(\d+)\.")
        dual = _indices(shapes, r"joint_blocks\.(\d+)\.x_block\.attn2\.")
        qk_norm = shapes.get("joint_blocks.0.x_block.attn.ln_q.weight")
    else:
        embed = shapes["pos_embed.proj.weight"]
        context = shapes["context_embedder.weight"]
        pooled = shapes["time_text_embed.text_embedder.linear_1.weight"]
        positions = shapes["pos_embed.pos_embed"][1]
        layers = _count(shapes, r"transformer_blocks\.(\d+)\.")
        dual = _indices(shapes, r"transformer_blocks\.(\d+)\.attn2\.")
        qk_norm = shapes.get("transformer_blocks.0.attn.norm_q.weight")
    hidden, channels, patch = embed[0], embed[1], embed[2]
    head_dim = qk_norm[0] if qk_norm else SD3_HEAD_DIM
    return {
        "attention_head_dim": head_dim,
        "caption_projection_dim": context[0],
        "dual_attention_layers": tuple(dual),
        "in_channels": channels,
        "joint_attention_dim": context[1],
        "num_attention_heads": hidden // head_dim,
        "num_layers": layers,
        "out_channels": channels,
        "patch_size": patch,
        "pooled_projection_dim": pooled[1],
        "pos_embed_max_size": math.isqrt(positions),
        "qk_norm": "rms_norm" if qk_norm else None,
    }


def flux_transformer(shapes: Shapes) -> dict[str, Any]:
    """Flux.1 sizes, from the original (``double_blocks``) or diffusers layout."""
    if any(k.startswith("double_blocks.") for k in shapes):
        embed, context = shapes["img_in.weight"], shapes["txt_in.weight"]
        pooled = shapes["vector_in.in_layer.weight"]
        head = shapes["double_blocks.0.img_attn.norm.query_norm.scale"]
        out = shapes["final_layer.linear.weight"]
        double = _count(shapes, r"double_blocks\.(\d+)\.")
        single = _count(shapes, r"single_blocks\.(\d+)\.")
        guidance = any(k.startswith("guidance_in.") for k in shapes)
    else:
        embed, context = shapes["x_embedder.weight"], shapes["context_embedder.weight"]
        pooled = shapes["time_text_embed.text_embedder.linear_1.weight"]
        head = shapes["transformer_blocks.0.attn.norm_q.weight"]
        out = shapes["proj_out.weight"]
        double = _count(shapes, r"transformer_blocks\.(\d+)\.")
        single = _count(shapes, r"single_transformer_blocks\.(\d+)\.")
        guidance = any(k.startswith("time_text_embed.guidance_embedder.") for k in shapes)
    return {
        "attention_head_dim": head[0],
        "guidance_embeds": guidance,
        "in_channels": embed[1],
        "joint_attention_dim": context[1],
        "num_attention_heads": embed[0] // head[0],
        "num_layers": double,
        "num_single_layers": single,
        "out_channels": out[0],
        "pooled_projection_dim": pooled[1],
    }


def vae(shapes: Shapes) -> dict[str, Any]:
    """An AutoencoderKL's widths and depth, from the original (``encoder.down.N``) or diffusers layout."""
    if any(k.startswith("encoder.down.") for k in shapes):
        levels = _indices(shapes, r"encoder\.down\.(\d+)\.")
        widths = [shapes[f"encoder.down.{i}.block.0.conv1.weight"][0] for i in levels]
        per_level = _count(shapes, r"encoder\.down\.0\.block\.(\d+)\.")
    else:
        levels = _indices(shapes, r"encoder\.down_blocks\.(\d+)\.")
        widths = [shapes[f"encoder.down_blocks.{i}.resnets.0.conv1.weight"][0] for i in levels]
        per_level = _count(shapes, r"encoder\.down_blocks\.0\.resnets\.(\d+)\.")
    return {
        "block_out_channels": tuple(widths),
        "down_block_types": ("DownEncoderBlock2D",) * len(widths),
        "latent_channels": shapes["decoder.conv_in.weight"][1],
        "layers_per_block": per_level,
        "up_block_types": ("UpDecoderBlock2D",) * len(widths),
    }


def clip_text(shapes: Shapes) -> dict[str, Any]:
    """A CLIP text encoder's sizes, from transformers' names (with or without ``text_model.``)."""
    short = {k.removeprefix("text_model."): v for k, v in shapes.items()}
    tokens = short["embeddings.token_embedding.weight"]
    projection = short.get("text_projection.weight")
    return {
        "hidden_size": tokens[1],
        "intermediate_size": short["encoder.layers.0.mlp.fc1.weight"][0],
        "max_position_embeddings": short["embeddings.position_embedding.weight"][0],
        "num_attention_heads": max(1, tokens[1] // CLIP_HEAD_DIM),
        "num_hidden_layers": _count(short, r"encoder\.layers\.(\d+)\."),
        "projection_dim": projection[0] if projection else tokens[1],
        "vocab_size": tokens[0],
    }


def t5_encoder(shapes: Shapes) -> dict[str, Any]:
    """A T5 encoder's sizes, from transformers' names."""
    shared = shapes.get("shared.weight") or shapes["encoder.embed_tokens.weight"]
    bias = shapes["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
    heads = bias[1]
    gated = "encoder.block.0.layer.1.DenseReluDense.wi_0.weight" in shapes
    inner = shapes["encoder.block.0.layer.1.DenseReluDense." + ("wi_0" if gated else "wi") + ".weight"]
    layers = _count(shapes, r"encoder\.block\.(\d+)\.")
    return {
        "d_ff": inner[0],
        "d_kv": shapes["encoder.block.0.layer.0.SelfAttention.q.weight"][0] // heads,
        "d_model": shared[1],
        "num_heads": heads,
        "num_layers": layers,
        "num_decoder_layers": layers,
        "relative_attention_num_buckets": bias[0],
        "vocab_size": shared[0],
    }
