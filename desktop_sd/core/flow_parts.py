"""Which parts of an SD 3 / Flux.1 model a ``.safetensors`` file holds, judged from its tensor names and shapes.

SD 3.5 and Flux.1 are mostly shared as pieces: the transformer alone (``flux1-dev.safetensors``,
``sd3.5_large.safetensors``, the latter with the VAE), the text encoders as ComfyUI keeps them
(``clip_l.safetensors``, ``clip_g.safetensors``, ``t5xxl_fp16.safetensors`` in HF transformers' own
names) and Flux's VAE (``ae.safetensors``, original names). All-in-one checkpoints (ComfyUI's, SD 3
Medium's ``…incl_clips_t5xxlfp8``) put the same parts under prefixes. ``parts_in`` maps each part a
file holds to the prefix its tensors carry there, so the engine can build each one from whichever
file has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from desktop_sd.core.request import Family

Shapes = Mapping[str, tuple[int, ...]]

TRANSFORMER = "transformer"
CLIP_L = "clip_l"
CLIP_G = "clip_g"
T5 = "t5xxl"
VAE = "vae"

# The parts each family runs with; SD 3 can go without T5 (a notice says so).
REQUIRED = {Family.SD3: (CLIP_L, CLIP_G, VAE), Family.FLUX: (CLIP_L, T5, VAE)}
OPTIONAL = {Family.SD3: (T5,), Family.FLUX: ()}
PART_NAMES = {
    CLIP_L: "CLIP-L text encoder (clip_l.safetensors)",
    CLIP_G: "CLIP-G text encoder (clip_g.safetensors)",
    T5: "T5-XXL text encoder (t5xxl_fp16.safetensors or t5xxl_fp8_e4m3fn.safetensors)",
    VAE: "VAE",
}

_CLIP_TOKENS = "text_model.embeddings.token_embedding.weight"
_T5_BLOCK = "encoder.block.0.layer.0.SelfAttention.q.weight"
_T5_EMBEDDINGS = ("shared.weight", "encoder.embed_tokens.weight")  # files keep one or both
_VAE_KEY = "decoder.conv_in.weight"
_TRANSFORMER_STARTS = ("joint_blocks.", "double_blocks.", "transformer_blocks.", "single_transformer_blocks.")
_CLIP_WIDTHS = {768: CLIP_L, 1280: CLIP_G}


def _clip_role(shapes: Shapes, name: str) -> str | None:
    """CLIP-L or CLIP-G by width (768 or 1280); a file of another width by its name (``clip_l``, ``clip_g``)."""
    tokens = shapes.get(_CLIP_TOKENS)
    if not tokens:
        return None
    role = _CLIP_WIDTHS.get(tokens[-1])
    if role is None:
        stem = name.lower().replace("-", "_")
        role = CLIP_G if "clip_g" in stem else CLIP_L if "clip_l" in stem else None
    return role


def parts_in(shapes: Shapes, name: str = "") -> dict[str, str]:
    """Part -> the prefix of its tensors in this file (``""`` for a file that is that part alone).
    ``name`` (the file's) tells a CLIP of unusual width apart; real CLIP-L and CLIP-G show it in their shapes."""
    found: dict[str, str] = {}
    if any(k.startswith("model.diffusion_model.") for k in shapes):
        found[TRANSFORMER] = "model.diffusion_model."
    elif any(k.startswith(_TRANSFORMER_STARTS) for k in shapes):
        found[TRANSFORMER] = ""
    for role in (CLIP_L, CLIP_G):
        prefix = f"text_encoders.{role}.transformer."
        if prefix + _CLIP_TOKENS in shapes:
            found[role] = prefix
    if any(k.startswith("text_encoders.t5xxl.transformer.encoder.") for k in shapes):
        found[T5] = "text_encoders.t5xxl.transformer."
    for prefix in ("first_stage_model.", "vae."):
        if prefix + _VAE_KEY in shapes:
            found[VAE] = prefix
            break
    if found:
        return found
    # a file that is one part alone, in the names ComfyUI and transformers give it
    clip = _clip_role(shapes, name)
    if clip is not None:
        return {clip: ""}
    if _T5_BLOCK in shapes and any(k in shapes for k in _T5_EMBEDDINGS):
        return {T5: ""}
    if _VAE_KEY in shapes and any(k.startswith("encoder.") for k in shapes):
        return {VAE: ""}
    return {}


GGUF_T5_ARCHITECTURES = ("t5encoder", "t5")  # city96's t5-v1_1-xxl-encoder-gguf, llama.cpp's converter


def gguf_architecture(path: Path) -> str:
    """``general.architecture`` of a GGUF file ("" when it cannot be read); its header only."""
    from gguf import GGUFReader  # numpy only; imported here so that nothing else pays for it

    try:
        field = GGUFReader(str(path)).fields.get("general.architecture")
        return bytes(field.parts[field.data[0]]).decode("utf-8") if field is not None else ""
    except (OSError, ValueError, IndexError, KeyError, UnicodeDecodeError):
        return ""


def gguf_part(architecture: str) -> str | None:
    """The part a GGUF file is, from its ``general.architecture``: T5's encoder (quantized, as ComfyUI-GGUF
    users run it beside a GGUF transformer); a transformer GGUF is the model itself, not a part."""
    return T5 if architecture.lower() in GGUF_T5_ARCHITECTURES else None


def vae_latent_channels(shapes: Shapes, prefix: str) -> int | None:
    """The latent channels of a VAE part (16 for SD 3's and Flux's; 4 for SD 1.x / SDXL ones)."""
    conv_in = shapes.get(prefix + _VAE_KEY)
    return conv_in[1] if conv_in is not None and len(conv_in) > 1 else None


def scaled_fp8(shapes: Shapes) -> bool:
    """ComfyUI's "scaled" fp8 files keep a scale per weight that only ComfyUI applies."""
    return "scaled_fp8" in shapes or any(k.endswith(".scale_weight") for k in shapes)
