"""Tiny random-weight SD 3 and Flux.1 pipelines (64 px), built in memory with no download.

The test suite runs the engine's SD 3 and Flux paths on these. The T5 tokenizer
is a small Unigram vocabulary (letters and the word-start marker) made here; the
CLIP tokenizers are the byte-level ones of ``random_models``.
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    FluxFillPipeline,
    FluxPipeline,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
)

from desktop_sd.engine.random_models import write_byte_tokenizer

LATENT_CHANNELS = 16  # SD 3 and Flux VAEs both have 16 latent channels


def write_t5_tokenizer(folder: Path) -> T5TokenizerFast:
    """Write a T5 (Unigram) tokenizer over single letters: pad, end, unknown, then the pieces."""
    pieces = ["▁", *string.ascii_lowercase, *(f"▁{c}" for c in string.ascii_lowercase)]
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(p, -1.0 - i / 100) for i, p in enumerate(pieces)]
    tokenizer = T5TokenizerFast(vocab=vocab, extra_ids=0, model_max_length=512)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    return tokenizer


def _t5(d_model: int, seed: int, d_ff: int = 37) -> T5EncoderModel:
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=64, d_model=d_model, d_ff=d_ff, d_kv=8, num_layers=2, num_heads=4, relative_attention_num_buckets=8
    )
    return T5EncoderModel(config).eval()


def _clip_config(width: int = 32, heads: int = 4, vocab: int = 1000, act: str = "gelu") -> CLIPTextConfig:
    return CLIPTextConfig(
        hidden_size=width,
        intermediate_size=37,
        num_attention_heads=heads,
        num_hidden_layers=2,
        vocab_size=vocab,
        max_position_embeddings=77,
        hidden_act=act,
        projection_dim=width,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )


def _vae(
    seed: int, scaling: float, shift: float, widths: tuple[int, ...] = (8, 8, 16, 16), groups: int = 8
) -> AutoencoderKL:
    torch.manual_seed(seed)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=widths,
        layers_per_block=1,
        latent_channels=LATENT_CHANNELS,
        norm_num_groups=groups,
        sample_size=64,
        scaling_factor=scaling,
        shift_factor=shift,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )


def _tokenizer_dirs(folder: Path | None) -> Path:
    return folder if folder is not None else Path(tempfile.mkdtemp(prefix="desktop-sd-tokenizers-"))


def build_sd3_pipeline(*, seed: int = 0, with_t5: bool = True, folder: Path | None = None) -> StableDiffusion3Pipeline:
    """A tiny random SD 3 pipeline: MMDiT transformer, CLIP-L, CLIP-G and (optionally) T5, fp32 on CPU."""
    root = _tokenizer_dirs(folder)
    torch.manual_seed(seed)
    transformer = SD3Transformer2DModel(
        sample_size=8,
        patch_size=2,
        in_channels=LATENT_CHANNELS,
        out_channels=LATENT_CHANNELS,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        joint_attention_dim=64,  # T5's width; the two CLIP encoders' hidden states (32 + 32) pad up to it
        caption_projection_dim=32,
        pooled_projection_dim=64,  # both pooled CLIP outputs side by side
        pos_embed_max_size=16,
    )
    torch.manual_seed(seed + 1)
    text_encoder = CLIPTextModelWithProjection(_clip_config()).eval()
    torch.manual_seed(seed + 2)
    text_encoder_2 = CLIPTextModelWithProjection(_clip_config()).eval()
    tokenizer = write_byte_tokenizer(root / "tokenizer")
    tokenizer_2 = write_byte_tokenizer(root / "tokenizer_2")
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=_vae(seed + 3, 1.5305, 0.0609),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        text_encoder_3=_t5(64, seed + 4) if with_t5 else None,
        tokenizer_3=write_t5_tokenizer(root / "tokenizer_3") if with_t5 else None,
    )


def build_flux_pipeline(
    *, seed: int = 0, fill: bool = False, guidance: bool = True, folder: Path | None = None, t5_ff: int = 37
) -> FluxPipeline | FluxFillPipeline:
    """A tiny random Flux.1 pipeline: dev-like (distilled guidance) or schnell-like (``guidance=False``),
    or the Fill inpainting model (``fill=True``), fp32 on CPU. A large ``t5_ff`` makes T5 the largest
    component, as it is in the real model next to a quantized transformer."""
    root = _tokenizer_dirs(folder)
    packed = LATENT_CHANNELS * 4  # 2x2 patches of 16-channel latents
    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        # Fill sees the noisy latents, the masked image's latents and the mask (8x8 pixels per latent, 2x2 packed)
        in_channels=packed * 2 + 8 * 8 * 4 if fill else packed,
        out_channels=packed,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        guidance_embeds=guidance,
        axes_dims_rope=(4, 4, 8),
    )
    torch.manual_seed(seed + 1)
    text_encoder = CLIPTextModel(_clip_config()).eval()
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )
    cls = FluxFillPipeline if fill else FluxPipeline
    return cls(
        transformer=transformer,
        scheduler=scheduler,
        vae=_vae(seed + 2, 0.3611, 0.1159),
        text_encoder=text_encoder,
        tokenizer=write_byte_tokenizer(root / "tokenizer"),
        text_encoder_2=_t5(32, seed + 3, t5_ff),
        tokenizer_2=write_t5_tokenizer(root / "tokenizer_2"),
    )


def save_sd3_pipeline(folder: Path, *, seed: int = 0, with_t5: bool = True) -> Path:
    """Build a tiny random SD 3 pipeline and save it as a diffusers folder (safetensors)."""
    build_sd3_pipeline(seed=seed, with_t5=with_t5, folder=folder).save_pretrained(folder, safe_serialization=True)
    return folder


def save_flux_pipeline(
    folder: Path, *, seed: int = 0, fill: bool = False, guidance: bool = True, t5_ff: int = 37
) -> Path:
    """Build a tiny random Flux.1 pipeline and save it as a diffusers folder (safetensors)."""
    pipe = build_flux_pipeline(seed=seed, fill=fill, guidance=guidance, folder=folder, t5_ff=t5_ff)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def save_gguf_transformer(folder: Path, path: Path) -> Path:
    """Write the transformer of the diffusers model in ``folder`` as a GGUF file, quantizing to Q8_0 every
    matrix whose rows split into Q8_0's 32-value blocks (the rest stays float32), as quantized Flux files do."""
    import gguf
    from diffusers.models.modeling_utils import load_state_dict

    state = load_state_dict(str(folder / "transformer" / "diffusion_pytorch_model.safetensors"))
    writer = gguf.GGUFWriter(str(path), arch="flux")
    return _write_gguf(writer, dict(state), path)


def _write_gguf(writer: Any, tensors: dict[str, torch.Tensor], path: Path) -> Path:
    """Add ``tensors`` (Q8_0 where rows split into its 32-value blocks, float32 otherwise) and write the file."""
    import gguf

    for name, tensor in tensors.items():
        array = tensor.detach().float().numpy()
        if array.ndim == 2 and array.shape[-1] % 32 == 0:
            quantized = gguf.quants.quantize(array, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(name, quantized, raw_shape=quantized.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


# ---- tiny models shaped like the real files (single-file and split-file loading) --------------------------
#
# The single-file path builds each part from the shipped SD 3.5 / FLUX.1 configs, with only the sizes its
# shapes show (``engine.flow_configs``): so these tiny models keep what shapes cannot show as the real ones
# have it (CLIP's 64-wide heads and activations, T5's gated GELU, the VAE's 32 groups, Flux's 128-wide heads
# and rotary axes) and use the shipped tokenizers, whose vocabularies their embeddings match.

CLIP_VOCAB = 49408
T5_VOCAB = 32128


def shipped_configs(family: str) -> Path:
    """The shipped config folder (``sd3`` or ``flux``) whose tokenizers these models use."""
    from desktop_sd.core import paths

    return paths.resources_dir() / "model-configs" / family


def _clip_shaped(seed: int, act: str, projection: bool) -> CLIPTextModel | CLIPTextModelWithProjection:
    torch.manual_seed(seed)
    config = _clip_config(width=64, heads=1, vocab=CLIP_VOCAB, act=act)
    return (CLIPTextModelWithProjection(config) if projection else CLIPTextModel(config)).eval()


def _t5_shaped(seed: int) -> T5EncoderModel:
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=T5_VOCAB,
        d_model=128,
        d_ff=37,
        d_kv=8,
        num_layers=2,
        num_heads=2,
        feed_forward_proj="gated-gelu",
    )
    return T5EncoderModel(config).eval()


def _vae_shaped(seed: int, scaling: float, shift: float) -> AutoencoderKL:
    return _vae(seed, scaling, shift, widths=(32, 32, 64, 64), groups=32)


def build_sd3_shaped(*, seed: int = 0, with_t5: bool = True) -> StableDiffusion3Pipeline:
    """A tiny SD 3.5-Medium-like pipeline (qk norm, a dual-attention layer) with the shipped tokenizers."""
    configs = shipped_configs("sd3")
    torch.manual_seed(seed)
    transformer = SD3Transformer2DModel(
        sample_size=8,
        patch_size=2,
        in_channels=LATENT_CHANNELS,
        out_channels=LATENT_CHANNELS,
        num_layers=2,
        attention_head_dim=64,
        num_attention_heads=1,
        joint_attention_dim=128,
        caption_projection_dim=64,
        pooled_projection_dim=128,
        pos_embed_max_size=16,
        qk_norm="rms_norm",
        dual_attention_layers=(0,),
    )
    from transformers import CLIPTokenizer

    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler.from_pretrained(configs, subfolder="scheduler"),
        vae=_vae_shaped(seed + 3, 1.5305, 0.0609),
        text_encoder=_clip_shaped(seed + 1, "quick_gelu", True),
        tokenizer=CLIPTokenizer.from_pretrained(configs / "tokenizer"),
        text_encoder_2=_clip_shaped(seed + 2, "gelu", True),
        tokenizer_2=CLIPTokenizer.from_pretrained(configs / "tokenizer_2"),
        text_encoder_3=_t5_shaped(seed + 4) if with_t5 else None,
        tokenizer_3=T5TokenizerFast.from_pretrained(configs / "tokenizer_3") if with_t5 else None,
    )


def build_flux_shaped(*, seed: int = 0, guidance: bool = True, fill: bool = False) -> FluxPipeline | FluxFillPipeline:
    """A tiny FLUX.1-like pipeline (dev with ``guidance``, else schnell; Fill with ``fill``) with the shipped
    tokenizers."""
    configs = shipped_configs("flux")
    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=LATENT_CHANNELS * 4 * 2 + 8 * 8 * 4 if fill else LATENT_CHANNELS * 4,
        out_channels=LATENT_CHANNELS * 4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=128,
        num_attention_heads=1,
        joint_attention_dim=128,
        pooled_projection_dim=64,
        guidance_embeds=guidance,
    )
    schnell = {} if guidance else {"shift": 1.0, "use_dynamic_shifting": False}
    from transformers import CLIPTokenizer

    cls = FluxFillPipeline if fill else FluxPipeline
    return cls(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler.from_pretrained(configs, subfolder="scheduler", **schnell),
        vae=_vae_shaped(seed + 2, 0.3611, 0.1159),
        text_encoder=_clip_shaped(seed + 1, "quick_gelu", False),
        tokenizer=CLIPTokenizer.from_pretrained(configs / "tokenizer"),
        text_encoder_2=_t5_shaped(seed + 3),
        tokenizer_2=T5TokenizerFast.from_pretrained(configs / "tokenizer_2"),
    )


def _hf_clip(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CLIP text encoder's weights as ComfyUI's and Hugging Face's files name them (``text_model.…``)."""
    out = {}
    for key, value in model.state_dict().items():
        out[key if key.startswith(("text_model.", "text_projection.")) else "text_model." + key] = value
    return out


def write_sd3_all_in_one(pipe: StableDiffusion3Pipeline, path: Path) -> Path:
    """One ``.safetensors`` in the layout of SD 3 Medium's "incl_clips_t5xxl" files: the MMDiT under
    ``model.diffusion_model.``, the VAE under ``first_stage_model.``, the encoders under ``text_encoders.``."""
    from safetensors.torch import save_file

    from desktop_sd.engine.flow_layout import sd3_to_original
    from desktop_sd.engine.ldm_layout import vae_to_ldm

    state = sd3_to_original(pipe.transformer.state_dict())
    state.update(vae_to_ldm(pipe.vae.state_dict(), pipe.vae.config))
    for role, encoder in (("clip_l", pipe.text_encoder), ("clip_g", pipe.text_encoder_2)):
        state.update({f"text_encoders.{role}.transformer.{k}": v for k, v in _hf_clip(encoder).items()})
    if pipe.text_encoder_3 is not None:
        t5 = pipe.text_encoder_3.state_dict()
        state.update({f"text_encoders.t5xxl.transformer.{k}": v for k, v in t5.items() if "embed_tokens" not in k})
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def write_flux_split(pipe: FluxPipeline | FluxFillPipeline, models: Path) -> Path:
    """A ComfyUI ``models`` folder: the transformer in ``diffusion_models/`` (diffusers' names: see
    ``flow_layout``), ``clip_l`` and ``t5xxl`` in ``text_encoders/``, ``ae`` in ``vae/`` (original names).
    Returns the transformer file."""
    from safetensors.torch import save_file

    from desktop_sd.engine.ldm_layout import VAE_PREFIX, vae_to_ldm

    for sub in ("diffusion_models", "text_encoders", "vae"):
        (models / sub).mkdir(parents=True, exist_ok=True)
    transformer = models / "diffusion_models" / "flux1-tiny.safetensors"
    save_file({k: v.contiguous() for k, v in pipe.transformer.state_dict().items()}, str(transformer))
    save_file(_hf_clip(pipe.text_encoder), str(models / "text_encoders" / "clip_l.safetensors"))
    t5 = {k: v for k, v in pipe.text_encoder_2.state_dict().items() if "embed_tokens" not in k}
    save_file(t5, str(models / "text_encoders" / "t5xxl_fp16.safetensors"))
    vae = {
        k.removeprefix(VAE_PREFIX): v.contiguous()
        for k, v in vae_to_ldm(pipe.vae.state_dict(), pipe.vae.config).items()
    }
    save_file(vae, str(models / "vae" / "ae.safetensors"))
    return transformer


def save_gguf_t5(encoder: T5EncoderModel, path: Path) -> Path:
    """Write a T5 encoder as a GGUF file in llama.cpp's names and metadata (architecture ``t5encoder``, as
    city96's t5-v1_1-xxl-encoder-gguf files are), its matrices quantized to Q8_0 where rows allow."""
    import gguf

    config = encoder.config
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.T5ENCODER, config.num_layers)
    writer = gguf.GGUFWriter(str(path), arch="t5encoder")
    writer.add_name("t5-v1_1-xxl-encoder")
    writer.add_context_length(512)
    writer.add_embedding_length(config.d_model)
    writer.add_feed_forward_length(config.d_ff)
    writer.add_block_count(config.num_layers)
    writer.add_head_count(config.num_heads)
    writer.add_key_length(config.d_kv)
    writer.add_value_length(config.d_kv)
    writer.add_layer_norm_rms_eps(config.layer_norm_epsilon)
    writer.add_relative_attn_buckets_count(config.relative_attention_num_buckets)
    renamed: dict[str, torch.Tensor] = {}
    for name, tensor in encoder.state_dict().items():
        if name == "encoder.embed_tokens.weight":
            continue  # the same tensor as shared.weight (token_embd)
        new_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        assert new_name is not None, name
        renamed[new_name] = tensor
    return _write_gguf(writer, renamed, path)
