"""Random-weight Stable Diffusion pipelines, built in memory with no download.

Used by the self-test, the benchmarks (at the real SD 1.5 size, so their
figures mean something on a GPU) and the test suite (tiny, 64 px).
The tokenizer is a byte-level CLIP tokenizer with no merges whose files are
written here, so nothing is fetched. ``save_single_file`` writes a pipeline
as an original-layout checkpoint, so the single-file loading path can be
tested offline too; ``build_sdxl_pipeline`` gives a tiny SDXL.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Literal

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    EulerDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from desktop_sd.core.clip_bytes import bytes_to_unicode
from desktop_sd.engine.ldm_layout import clip_to_ldm, unet_to_ldm, vae_to_ldm

Size = Literal["tiny", "sd15"]


def write_byte_tokenizer(folder: Path) -> CLIPTokenizer:
    """Write a CLIP tokenizer with a byte-level vocabulary (514 tokens, no merges)."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(bytes_to_unicode().values())
    vocab_list = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: index for index, token in enumerate(vocab_list)}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = CLIPTokenizer(
        str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77, pad_token="<|endoftext|>"
    )
    tokenizer.save_pretrained(folder)
    return tokenizer


def _unet(size: Size, in_channels: int) -> UNet2DConditionModel:
    if size == "sd15":
        return UNet2DConditionModel(
            sample_size=64,
            in_channels=in_channels,
            out_channels=4,
            block_out_channels=(320, 640, 1280, 1280),
            layers_per_block=2,
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            cross_attention_dim=768,
            attention_head_dim=8,
        )
    return UNet2DConditionModel(
        sample_size=8,
        in_channels=in_channels,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
        attention_head_dim=(2, 4),
    )


def _vae(size: Size) -> AutoencoderKL:
    if size == "sd15":
        return AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(128, 256, 512, 512),
            layers_per_block=2,
            latent_channels=4,
            sample_size=512,
        )
    # Four levels keep the 8x downscale of the real VAE, so 64 px images map to
    # 8x8 latents exactly like a real model.
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )


def _text_encoder(size: Size) -> CLIPTextModel:
    if size == "sd15":
        config = CLIPTextConfig(
            hidden_size=768,
            intermediate_size=3072,
            num_attention_heads=12,
            num_hidden_layers=12,
            vocab_size=49408,
            max_position_embeddings=77,
            hidden_act="quick_gelu",
            projection_dim=768,
        )
    else:
        config = CLIPTextConfig(
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=1000,
            max_position_embeddings=77,
            hidden_act="quick_gelu",
            projection_dim=32,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
        )
    return CLIPTextModel(config)


def build_pipeline(
    size: Size = "tiny",
    *,
    inpainting: bool = False,
    seed: int = 0,
    tokenizer_dir: Path | None = None,
) -> StableDiffusionPipeline:
    """A random-weight SD 1.x pipeline (or its 9-channel inpainting variant), fp32 on CPU."""
    torch.manual_seed(seed)
    unet = _unet(size, 9 if inpainting else 4)
    torch.manual_seed(seed + 1)
    vae = _vae(size)
    torch.manual_seed(seed + 2)
    text_encoder = _text_encoder(size)
    text_encoder.eval()
    if tokenizer_dir is None:
        tokenizer_dir = Path(tempfile.mkdtemp(prefix="desktop-sd-tokenizer-"))
    tokenizer = write_byte_tokenizer(tokenizer_dir)
    if size == "sd15":
        scheduler = PNDMScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            skip_prk_steps=True,
            steps_offset=1,
        )
    else:
        scheduler = DDIMScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            clip_sample=False,
            set_alpha_to_one=False,
            steps_offset=1,
        )
    cls = StableDiffusionInpaintPipeline if inpainting else StableDiffusionPipeline
    return cls(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def save_pipeline(folder: Path, size: Size = "tiny", *, inpainting: bool = False, seed: int = 0) -> Path:
    """Build a random pipeline and save it as a diffusers folder (safetensors)."""
    pipe = build_pipeline(size, inpainting=inpainting, seed=seed, tokenizer_dir=folder / "tokenizer")
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def save_single_file(pipe: StableDiffusionPipeline, path: Path, dtype: torch.dtype | None = None) -> Path:
    """Write an SD 1.x pipeline as one original-layout ``.safetensors`` checkpoint.

    Keys are ``model.diffusion_model.*``, ``first_stage_model.*`` and
    ``cond_stage_model.transformer.text_model.*``, the inverse of diffusers'
    single-file conversion; load it back with ``from_single_file(path,
    config=<the pipeline's diffusers folder>)``. ``dtype`` casts floating
    weights (real checkpoints are often fp16).
    """
    state: dict[str, torch.Tensor] = {}
    state.update(unet_to_ldm(pipe.unet.state_dict(), pipe.unet.config))
    state.update(vae_to_ldm(pipe.vae.state_dict(), pipe.vae.config))
    state.update(clip_to_ldm(pipe.text_encoder.state_dict()))
    tensors = {}
    for key, value in state.items():
        value = value.detach().to("cpu")
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        tensors[key] = value.contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"format": "pt"})
    return path


def build_sdxl_pipeline(
    *, inpainting: bool = False, seed: int = 0, tokenizer_dir: Path | None = None
) -> StableDiffusionXLPipeline:
    """A tiny random-weight SDXL pipeline (two text encoders, text-time conditioning), fp32 on CPU."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=9 if inpainting else 4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=80,  # 6 time ids x 8 + the pooled text embedding (32)
        cross_attention_dim=64,  # both encoders' hidden states side by side
        norm_num_groups=32,
    )
    torch.manual_seed(seed + 1)
    vae = _vae("tiny")
    torch.manual_seed(seed + 2)
    text_encoder = _text_encoder("tiny")
    torch.manual_seed(seed + 3)
    config = text_encoder.config
    text_encoder_2 = CLIPTextModelWithProjection(config)
    text_encoder.eval()
    text_encoder_2.eval()
    if tokenizer_dir is None:
        tokenizer_dir = Path(tempfile.mkdtemp(prefix="desktop-sd-tokenizer-"))
    tokenizer = write_byte_tokenizer(tokenizer_dir)
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        timestep_spacing="leading",
    )
    cls = StableDiffusionXLInpaintPipeline if inpainting else StableDiffusionXLPipeline
    return cls(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=scheduler,
        add_watermarker=False,
    )


def save_sdxl_pipeline(folder: Path, *, inpainting: bool = False, seed: int = 0) -> Path:
    """Build a tiny random SDXL pipeline and save it as a diffusers folder (safetensors)."""
    pipe = build_sdxl_pipeline(inpainting=inpainting, seed=seed, tokenizer_dir=folder / "tokenizer")
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder
