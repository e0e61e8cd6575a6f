"""Small add-on files with the key names and shapes of real ones (numpy only: no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file


def _zeros(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=np.float16)


def kohya_lora(path: Path, family: str = "sd1", tags: dict[str, int] | None = None) -> Path:
    """A rank-1 kohya LoRA with the widths of a real SD 1.x (768), SD 2.x (1024) or SDXL (2048 / two encoders)."""
    width = {"sd1": 768, "sd2": 1024, "sdxl": 2048}[family]
    tensors: dict[str, np.ndarray] = {}
    if family == "sdxl":
        unet = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k"
        encoders = [
            "lora_te1_text_model_encoder_layers_0_self_attn_q_proj",
            "lora_te2_text_model_encoder_layers_0_self_attn_q_proj",
        ]
    else:
        unet = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"
        encoders = ["lora_te_text_model_encoder_layers_0_self_attn_q_proj"]
    tensors[unet + ".lora_down.weight"] = _zeros(1, width)
    tensors[unet + ".lora_up.weight"] = _zeros(640, 1)
    tensors[unet + ".alpha"] = np.array(1.0, dtype=np.float16)
    for key in encoders:
        tensors[key + ".lora_down.weight"] = _zeros(1, 768)
        tensors[key + ".lora_up.weight"] = _zeros(768, 1)
    metadata = {"ss_tag_frequency": json.dumps({"5_char": tags})} if tags else None
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def peft_lora(path: Path) -> Path:
    """A diffusers/PEFT-named SDXL UNet LoRA (cross-attention 2048)."""
    key = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({key + ".lora_A.weight": _zeros(1, 2048), key + ".lora_B.weight": _zeros(640, 1)}, str(path))
    return path


def loha(path: Path) -> Path:
    key = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"
    tensors = {key + ".hada_w1_a": _zeros(640, 2), key + ".hada_w1_b": _zeros(2, 768), key + ".alpha": _zeros(1)}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path


def embedding(path: Path, family: str = "sd1") -> Path:
    tensors = (
        {"clip_l": _zeros(2, 768), "clip_g": _zeros(2, 1280)} if family == "sdxl" else {"emb_params": _zeros(2, 768)}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path


def vae(path: Path) -> Path:
    tensors = {
        "encoder.down.0.block.0.conv1.weight": _zeros(8, 8, 3, 3),
        "decoder.up.0.block.0.conv1.weight": _zeros(8, 8, 3, 3),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path


# Flux.1 and SD 3 LoRAs in the namings users download, at the real models' widths (rank 1, zeros).
FLOW_LORA_KEYS = {
    # diffusers/PEFT, FLUX.1 (3072 wide): joint and single blocks
    "flux-peft": {
        "transformer.transformer_blocks.0.attn.to_q": (3072, 3072),
        "transformer.single_transformer_blocks.0.attn.to_q": (3072, 3072),
    },
    "flux-peft-joint-only": {"transformer.transformer_blocks.0.attn.to_q": (3072, 3072)},
    "flux-kohya": {
        "lora_unet_double_blocks_0_img_attn_qkv": (3072, 9216),
        "lora_unet_single_blocks_0_linear1": (3072, 21504),
    },
    "flux-bfl": {"diffusion_model.double_blocks.0.img_attn.qkv": (3072, 9216)},
    "flux-xlabs": {"double_blocks.0.processor.qkv_lora1": (3072, 9216)},
    "sd3-peft": {"transformer.transformer_blocks.0.attn.to_q": (1536, 1536)},  # SD 3 / 3.5 Medium
    "sd35-large-peft": {"transformer.transformer_blocks.0.attn.to_q": (2432, 2432)},
    "sd3-sai": {"lora_unet_joint_blocks_0_x_block_attn_qkv": (1536, 4608)},
}


def flow_lora(path: Path, naming: str) -> Path:
    """A Flux.1 or SD 3 LoRA named as in ``FLOW_LORA_KEYS[naming]``."""
    tensors: dict[str, np.ndarray] = {}
    for layer, (inputs, outputs) in FLOW_LORA_KEYS[naming].items():
        if naming == "flux-xlabs":
            down, up = ".down.weight", ".up.weight"
        elif naming.endswith(("kohya", "sai")):
            down, up = ".lora_down.weight", ".lora_up.weight"
            tensors[layer + ".alpha"] = np.array(1.0, dtype=np.float16)
        else:
            down, up = ".lora_A.weight", ".lora_B.weight"
        tensors[layer + down] = _zeros(1, inputs)
        tensors[layer + up] = _zeros(outputs, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path
