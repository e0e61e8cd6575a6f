"""Random-weight LoRA files for a given pipeline, in kohya/A1111 and in diffusers/PEFT naming (tests, self-test).

Real LoRA files name layers the way their trainer saw them: kohya's
``lora_unet_<module_path_with_underscores>.lora_down.weight`` / ``lora_up`` /
``alpha`` (``lora_te_`` for SD 1.x's text encoder, ``lora_te1_`` / ``lora_te2_``
for SDXL's two); diffusers/PEFT's ``unet.<module.path>.lora_A.weight`` /
``lora_B`` (``text_encoder.`` / ``text_encoder_2.``). Text encoder paths keep
CLIP's ``text_model.`` prefix, as files trained with transformers 4 do.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import DiffusionPipeline
from safetensors.torch import save_file


def _layers(module: torch.nn.Module, conv: bool) -> dict[str, torch.nn.Module]:
    found: dict[str, torch.nn.Module] = {}
    for name, layer in module.named_modules():
        if ".lora_" in name:
            continue  # a pipeline that already carries adapters: the layers are named as before
        name = name.removesuffix(".base_layer")
        if (isinstance(layer, torch.nn.Linear) and ("attn" in name or "self_attn" in name)) or (
            conv and isinstance(layer, torch.nn.Conv2d) and "resnets" in name and name.endswith("conv1")
        ):
            found[name] = layer
    return found


def _pair(layer: torch.nn.Module, rank: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(layer, torch.nn.Conv2d):
        k = layer.kernel_size
        down = torch.randn(rank, layer.in_channels, k[0], k[1], generator=generator) * 0.3
        up = torch.randn(layer.out_channels, rank, 1, 1, generator=generator) * 0.3
    else:
        assert isinstance(layer, torch.nn.Linear)
        down = torch.randn(rank, layer.in_features, generator=generator) * 0.3
        up = torch.randn(layer.out_features, rank, generator=generator) * 0.3
    return down, up


def _encoders(pipe: DiffusionPipeline, xl: bool) -> list[tuple[str, str, torch.nn.Module]]:
    """(kohya prefix, diffusers prefix, module) for the UNet and each text encoder."""
    parts = [("lora_unet_", "unet.", pipe.unet)]
    if xl:
        parts += [
            ("lora_te1_", "text_encoder.", pipe.text_encoder),
            ("lora_te2_", "text_encoder_2.", pipe.text_encoder_2),
        ]
    else:
        parts.append(("lora_te_", "text_encoder.", pipe.text_encoder))
    return parts


def save_kohya_lora(
    pipe: DiffusionPipeline,
    path: Path,
    *,
    rank: int = 4,
    alpha: float = 2.0,
    seed: int = 0,
    conv: bool = False,
    tags: dict[str, int] | None = None,
    unet_only: bool = False,
) -> Path:
    """A LoRA (a LoCon with ``conv=True``) in kohya naming; ``tags`` go into ``ss_tag_frequency``."""
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for kohya, _, module in _encoders(pipe, hasattr(pipe, "text_encoder_2")):
        if unet_only and kohya != "lora_unet_":
            continue
        text = kohya != "lora_unet_"
        for name, layer in _layers(module, conv and not text).items():
            key = kohya + ("text_model_" + name.removeprefix("text_model.") if text else name).replace(".", "_")
            down, up = _pair(layer, rank, generator)
            tensors[key + ".lora_down.weight"] = down
            tensors[key + ".lora_up.weight"] = up
            tensors[key + ".alpha"] = torch.tensor(alpha)
    metadata = {"ss_network_module": "networks.lora"}
    if tags:
        metadata["ss_tag_frequency"] = json.dumps({"10_subject": tags})
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def save_peft_lora(pipe: DiffusionPipeline, path: Path, *, rank: int = 4, seed: int = 0) -> Path:
    """A LoRA in diffusers/PEFT naming (``unet.<path>.lora_A.weight``...), as ``save_lora_weights`` writes."""
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for kohya, prefix, module in _encoders(pipe, hasattr(pipe, "text_encoder_2")):
        text = kohya != "lora_unet_"
        for name, layer in _layers(module, False).items():
            key = prefix + ("text_model." + name.removeprefix("text_model.") if text else name)
            down, up = _pair(layer, rank, generator)
            tensors[key + ".lora_A.weight"] = down
            tensors[key + ".lora_B.weight"] = up
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"format": "pt"})
    return path


def save_loha(pipe: DiffusionPipeline, path: Path) -> Path:
    """A LyCORIS LoHa file (``hada_w1_a``...), which diffusers cannot load."""
    tensors: dict[str, torch.Tensor] = {}
    for name, layer in list(_layers(pipe.unet, False).items())[:2]:
        assert isinstance(layer, torch.nn.Linear)
        key = "lora_unet_" + name.replace(".", "_")
        tensors[key + ".hada_w1_a"] = torch.zeros(layer.out_features, 2)
        tensors[key + ".hada_w1_b"] = torch.zeros(2, layer.in_features)
        tensors[key + ".hada_w2_a"] = torch.zeros(layer.out_features, 2)
        tensors[key + ".hada_w2_b"] = torch.zeros(2, layer.in_features)
        tensors[key + ".alpha"] = torch.tensor(1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path
