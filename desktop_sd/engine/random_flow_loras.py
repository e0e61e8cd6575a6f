"""Random-weight Flux.1 and SD 3 LoRA files for a given pipeline, in the namings users download (tests).

- diffusers/PEFT (``transformer.transformer_blocks.0.attn.to_q.lora_A.weight``): peft's ``LoraConfig`` on a
  copy of the transformer, written by the pipeline's own ``save_lora_weights``;
- kohya (``lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight`` with ``.alpha``) and BFL/ComfyUI
  (``diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight``), Flux only;
- XLabs (``double_blocks.0.processor.qkv_lora1.down.weight``), Flux only;
- SAI/kohya SD 3 naming (``lora_unet_joint_blocks_0_x_block_attn_qkv``), which diffusers cannot load.

diffusers' kohya converter splits a single block's fused ``linear1`` (qkv and MLP) at FLUX.1's sizes
(3072, 12288), so the kohya and BFL files here leave ``linear1`` out: at a test model's width it cannot be
converted. Every other layer they hold is converted at any width.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import DiffusionPipeline
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file

PEFT_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "proj_mlp", "proj_out")


def save_peft_flow_lora(pipe: DiffusionPipeline, path: Path, *, rank: int = 4, seed: int = 0) -> Path:
    """A LoRA of ``pipe``'s transformer in diffusers/PEFT naming, random in both halves (so it changes the image)."""
    transformer = type(pipe.transformer).from_config(pipe.transformer.config)  # the layers, not their weights
    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=list(PEFT_TARGETS), init_lora_weights=False)
    torch.manual_seed(seed)
    transformer.add_adapter(config, adapter_name="random")
    layers = get_peft_model_state_dict(transformer, adapter_name="random")
    path.parent.mkdir(parents=True, exist_ok=True)
    type(pipe).save_lora_weights(path.parent, transformer_lora_layers=layers, weight_name=path.name)
    return path


def _flux_layers(pipe: DiffusionPipeline) -> dict[str, tuple[int, int]]:
    """BFL names of the first double and single block's layers, with (in, out) features from the model."""
    double = pipe.transformer.transformer_blocks[0]
    single = pipe.transformer.single_transformer_blocks[0]
    width = double.attn.to_q.in_features
    layers = {}
    for stream, ff in (("img", double.ff), ("txt", double.ff_context)):
        layers[f"double_blocks.0.{stream}_attn.qkv"] = (width, 3 * width)
        layers[f"double_blocks.0.{stream}_attn.proj"] = (width, width)
        layers[f"double_blocks.0.{stream}_mlp.0"] = (width, ff.net[0].proj.out_features)
        layers[f"double_blocks.0.{stream}_mlp.2"] = (ff.net[2].in_features, width)
    layers["single_blocks.0.linear2"] = (single.proj_out.in_features, single.proj_out.out_features)
    return layers


def _pair(inputs: int, outputs: int, rank: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    down = torch.randn(rank, inputs, generator=generator) * 0.3
    up = torch.randn(outputs, rank, generator=generator) * 0.3
    return down, up


def flux_lora_tensors(pipe: DiffusionPipeline, *, rank: int = 4, seed: int = 0) -> dict[str, tuple[torch.Tensor, ...]]:
    """BFL layer name -> (down, up) random weights for ``pipe``'s Flux transformer."""
    generator = torch.Generator().manual_seed(seed)
    return {name: _pair(i, o, rank, generator) for name, (i, o) in _flux_layers(pipe).items()}


def save_kohya_flux_lora(pipe: DiffusionPipeline, path: Path, *, alpha: float = 2.0, seed: int = 0) -> Path:
    """A Flux LoRA in kohya naming, with ``alpha`` (``lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight``)."""
    tensors: dict[str, torch.Tensor] = {}
    for name, (down, up) in flux_lora_tensors(pipe, seed=seed).items():
        key = "lora_unet_" + name.replace(".", "_")
        tensors[key + ".lora_down.weight"] = down
        tensors[key + ".lora_up.weight"] = up
        tensors[key + ".alpha"] = torch.tensor(alpha)
    return _save(tensors, path, {"ss_network_module": "networks.lora_flux"})


def save_bfl_flux_lora(pipe: DiffusionPipeline, path: Path, *, seed: int = 0) -> Path:
    """A Flux LoRA in BFL/ComfyUI naming (``diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight``)."""
    tensors: dict[str, torch.Tensor] = {}
    for name, (down, up) in flux_lora_tensors(pipe, seed=seed).items():
        tensors[f"diffusion_model.{name}.lora_A.weight"] = down
        tensors[f"diffusion_model.{name}.lora_B.weight"] = up
    return _save(tensors, path)


def save_xlabs_flux_lora(pipe: DiffusionPipeline, path: Path, *, rank: int = 4, seed: int = 0) -> Path:
    """A Flux LoRA as XLabs' trainer writes it (``double_blocks.0.processor.qkv_lora1.down.weight``)."""
    generator = torch.Generator().manual_seed(seed)
    width = pipe.transformer.transformer_blocks[0].attn.to_q.in_features
    tensors: dict[str, torch.Tensor] = {}
    for layer, outputs in (("qkv_lora1", 3 * width), ("proj_lora1", width), ("qkv_lora2", 3 * width)):
        down, up = _pair(width, outputs, rank, generator)
        tensors[f"double_blocks.0.processor.{layer}.down.weight"] = down
        tensors[f"double_blocks.0.processor.{layer}.up.weight"] = up
    return _save(tensors, path)


def save_kohya_sd3_lora(pipe: DiffusionPipeline, path: Path, *, rank: int = 4) -> Path:
    """An SD 3 LoRA in SAI/kohya naming (``lora_unet_joint_blocks_0_x_block_attn_qkv``), which diffusers cannot load."""
    width = pipe.transformer.transformer_blocks[0].attn.to_q.in_features
    key = "lora_unet_joint_blocks_0_x_block_attn_qkv"
    tensors = {
        key + ".lora_down.weight": torch.zeros(rank, width),
        key + ".lora_up.weight": torch.zeros(3 * width, rank),
        key + ".alpha": torch.tensor(float(rank)),
    }
    return _save(tensors, path)


def _save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata or {"format": "pt"})
    return path
