"""Write ``resources/model-configs/<family>``: diffusers-layout config folders for single-file checkpoints.

A ``.safetensors`` checkpoint holds weights only. To build a pipeline from one,
diffusers needs the family's configs (model index, scheduler, UNet, VAE, text
encoders) and tokenizer files, which it would otherwise fetch from the Hub.
Shipping them makes single-file loading work with no network.

The configs are those of the public reference models of each family:
``sd1`` = SD 1.5, ``sd1-inpainting`` = SD 1.5 inpainting, ``sd2`` = SD 2.1 (768 px,
v-prediction, what diffusers assumes for an SD 2.x single file), ``sd2-inpainting``
= SD 2 inpainting, ``sdxl`` = SDXL base 1.0, ``sdxl-inpainting`` = SDXL inpainting 0.1, ``sd3`` = SD 3.5 Large
(the transformer's size is read from each file: SD 3 Medium, 3.5 Medium and Large load
with it), ``flux`` = FLUX.1 [dev] (schnell's scheduler and Fill's pipeline are chosen
in code from the transformer).

The tokenizer is derived from the CLIP BPE file that the ``open_clip_torch`` wheel
ships (``open_clip/bpe_simple_vocab_16e6.txt.gz``): pass it with ``--bpe`` (the
``.txt.gz`` or the wheel), or let the script fetch the wheel with ``pip download``.

The T5 tokenizer (SD 3's third and Flux's second; Unigram, 32,100 pieces, Apache-2.0)
is the ``tokenizer.json`` that stable-diffusion.cpp (MIT) embeds as a byte array in
``src/tokenizers/vocab/clip_t5.hpp``; its Python package's source distribution on PyPI
carries that file: pass it with ``--sdcpp`` or let the script fetch it with ``pip download``.

Run: ``python packaging/make_model_configs.py [--bpe PATH] [--sdcpp PATH] [--out resources/model-configs]``.
Needs transformers (to save the tokenizer) and diffusers (to check the configs parse).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not
from desktop_sd.core.clip_bytes import bytes_to_unicode

ROOT = Path(__file__).resolve().parents[1]
BPE_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
MERGES = 49152 - 256 - 2  # lines of the BPE file that CLIP uses as merges
DIFFUSERS_VERSION = "0.27.0"
FLOW_DIFFUSERS_VERSION = "0.31.0"
SDCPP = "stable-diffusion-cpp-python==0.4.7"
T5_MEMBER = "src/tokenizers/vocab/clip_t5.hpp"
T5_ARRAY = "t5_tokenizer_json_str"
T5_CAT_IDS = [3, 9, 1202, 13, 3, 9, 1712, 1]  # "a photo of a cat" (T5 splits "a" into "▁" + "a")

# ---- component configs -----------------------------------------------------------------


def _unet_sd(in_channels: int, cross: int, head_dim: int | list[int], sample: int, linear: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "_class_name": "UNet2DConditionModel",
        "act_fn": "silu",
        "attention_head_dim": head_dim,
        "block_out_channels": [320, 640, 1280, 1280],
        "center_input_sample": False,
        "cross_attention_dim": cross,
        "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        "downsample_padding": 1,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "in_channels": in_channels,
        "layers_per_block": 2,
        "mid_block_scale_factor": 1,
        "norm_eps": 1e-05,
        "norm_num_groups": 32,
        "out_channels": 4,
        "sample_size": sample,
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    }
    if linear:
        config["use_linear_projection"] = True
    return config


def _unet_sdxl(in_channels: int) -> dict[str, Any]:
    return {
        "_class_name": "UNet2DConditionModel",
        "act_fn": "silu",
        "addition_embed_type": "text_time",
        "addition_embed_type_num_heads": 64,
        "addition_time_embed_dim": 256,
        "attention_head_dim": [5, 10, 20],
        "block_out_channels": [320, 640, 1280],
        "center_input_sample": False,
        "cross_attention_dim": 2048,
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "downsample_padding": 1,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "in_channels": in_channels,
        "layers_per_block": 2,
        "mid_block_scale_factor": 1,
        "norm_eps": 1e-05,
        "norm_num_groups": 32,
        "out_channels": 4,
        # 1280 pooled text embedding + 6 micro-conditioning values x 256
        "projection_class_embeddings_input_dim": 2816,
        "sample_size": 128,
        "transformer_layers_per_block": [1, 2, 10],
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        "use_linear_projection": True,
    }


def _vae(sample: int, scaling: float = 0.18215, force_upcast: bool = True) -> dict[str, Any]:
    return {
        "_class_name": "AutoencoderKL",
        "act_fn": "silu",
        "block_out_channels": [128, 256, 512, 512],
        "down_block_types": ["DownEncoderBlock2D"] * 4,
        "force_upcast": force_upcast,
        "in_channels": 3,
        "latent_channels": 4,
        "layers_per_block": 2,
        "norm_num_groups": 32,
        "out_channels": 3,
        "sample_size": sample,
        "scaling_factor": scaling,
        "up_block_types": ["UpDecoderBlock2D"] * 4,
    }


def _clip_text(
    hidden: int, layers: int, heads: int, intermediate: int, act: str, projection: int, cls: str
) -> dict[str, Any]:
    return {
        "architectures": [cls],
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "dropout": 0.0,
        "eos_token_id": 2,
        "hidden_act": act,
        "hidden_size": hidden,
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": 77,
        "model_type": "clip_text_model",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "pad_token_id": 1,
        "projection_dim": projection,
        "torch_dtype": "float32",
        "vocab_size": 49408,
    }


CLIP_L = _clip_text(768, 12, 12, 3072, "quick_gelu", 768, "CLIPTextModel")
# SD 2 keeps 23 of OpenCLIP ViT-H's 24 layers (it conditions on the penultimate one).
OPENCLIP_H = _clip_text(1024, 23, 16, 4096, "gelu", 512, "CLIPTextModel")
OPENCLIP_BIGG = _clip_text(1280, 32, 20, 5120, "gelu", 1280, "CLIPTextModelWithProjection")

CLIP_L_PROJ = _clip_text(768, 12, 12, 3072, "quick_gelu", 768, "CLIPTextModelWithProjection")
# google/t5-v1_1-xxl's encoder, as SD 3 and Flux.1 use it
T5_XXL: dict[str, Any] = {
    "architectures": ["T5EncoderModel"],
    "classifier_dropout": 0.0,
    "d_ff": 10240,
    "d_kv": 64,
    "d_model": 4096,
    "decoder_start_token_id": 0,
    "dense_act_fn": "gelu_new",
    "dropout_rate": 0.1,
    "eos_token_id": 1,
    "feed_forward_proj": "gated-gelu",
    "initializer_factor": 1.0,
    "is_encoder_decoder": True,
    "is_gated_act": True,
    "layer_norm_epsilon": 1e-06,
    "model_type": "t5",
    "num_decoder_layers": 24,
    "num_heads": 64,
    "num_layers": 24,
    "pad_token_id": 0,
    "relative_attention_max_distance": 128,
    "relative_attention_num_buckets": 32,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "use_cache": True,
    "vocab_size": 32128,
}


def _vae_16(scaling: float, shift: float) -> dict[str, Any]:
    """SD 3's and Flux's VAE: 16 latent channels, no quant convs, a shift as well as a scale."""
    return {
        **_vae(1024, scaling=scaling),
        "latent_channels": 16,
        "latents_mean": None,
        "latents_std": None,
        "mid_block_add_attention": True,
        "shift_factor": shift,
        "use_post_quant_conv": False,
        "use_quant_conv": False,
    }


SD35_LARGE_TRANSFORMER = {
    "_class_name": "SD3Transformer2DModel",
    "attention_head_dim": 64,
    "caption_projection_dim": 2432,
    "in_channels": 16,
    "joint_attention_dim": 4096,
    "num_attention_heads": 38,
    "num_layers": 38,
    "out_channels": 16,
    "patch_size": 2,
    "pooled_projection_dim": 2048,
    "pos_embed_max_size": 192,
    "qk_norm": "rms_norm",
    "sample_size": 128,
}
FLUX_DEV_TRANSFORMER = {
    "_class_name": "FluxTransformer2DModel",
    "attention_head_dim": 128,
    "axes_dims_rope": [16, 56, 56],
    "guidance_embeds": True,
    "in_channels": 64,
    "joint_attention_dim": 4096,
    "num_attention_heads": 24,
    "num_layers": 19,
    "num_single_layers": 38,
    "patch_size": 1,
    "pooled_projection_dim": 768,
}


def _index_sd3() -> dict[str, Any]:
    return {
        "_class_name": "StableDiffusion3Pipeline",
        "_diffusers_version": FLOW_DIFFUSERS_VERSION,
        "feature_extractor": [None, None],
        "image_encoder": [None, None],
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModelWithProjection"],
        "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
        "text_encoder_3": ["transformers", "T5EncoderModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "CLIPTokenizer"],
        "tokenizer_3": ["transformers", "T5TokenizerFast"],
        "transformer": ["diffusers", "SD3Transformer2DModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }


def _index_flux() -> dict[str, Any]:
    return {
        "_class_name": "FluxPipeline",
        "_diffusers_version": FLOW_DIFFUSERS_VERSION,
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "text_encoder_2": ["transformers", "T5EncoderModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "T5TokenizerFast"],
        "transformer": ["diffusers", "FluxTransformer2DModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }


_BETAS = {"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000}


def _pndm() -> dict[str, Any]:
    return {
        "_class_name": "PNDMScheduler",
        **_BETAS,
        "clip_sample": False,
        "prediction_type": "epsilon",
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
        "trained_betas": None,
    }


def _ddim_v() -> dict[str, Any]:
    return {
        "_class_name": "DDIMScheduler",
        **_BETAS,
        "clip_sample": False,
        "prediction_type": "v_prediction",
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
        "trained_betas": None,
    }


def _euler() -> dict[str, Any]:
    return {
        "_class_name": "EulerDiscreteScheduler",
        **_BETAS,
        "clip_sample": False,
        "interpolation_type": "linear",
        "prediction_type": "epsilon",
        "sample_max_value": 1.0,
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
        "timestep_spacing": "leading",
        "trained_betas": None,
        "use_karras_sigmas": False,
    }


def _index_sd(pipeline: str, scheduler: str) -> dict[str, Any]:
    return {
        "_class_name": pipeline,
        "_diffusers_version": DIFFUSERS_VERSION,
        "feature_extractor": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", scheduler],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }


def _index_sdxl(pipeline: str, inpainting: bool) -> dict[str, Any]:
    index: dict[str, Any] = {
        "_class_name": pipeline,
        "_diffusers_version": DIFFUSERS_VERSION,
        "force_zeros_for_empty_prompt": True,
        "scheduler": ["diffusers", "EulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    if inpainting:
        index["requires_aesthetics_score"] = False
    return index


def families() -> dict[str, dict[str, Any]]:
    """Each folder's files: relative path -> JSON data, or ``("tokenizer", pad_token)``."""
    return {
        "sd1": {
            "model_index.json": _index_sd("StableDiffusionPipeline", "PNDMScheduler"),
            "scheduler/scheduler_config.json": _pndm(),
            "unet/config.json": _unet_sd(4, 768, 8, 64, linear=False),
            "vae/config.json": _vae(512),
            "text_encoder/config.json": CLIP_L,
            "tokenizer": ("tokenizer", "<|endoftext|>"),
        },
        "sd1-inpainting": {
            "model_index.json": _index_sd("StableDiffusionInpaintPipeline", "PNDMScheduler"),
            "scheduler/scheduler_config.json": _pndm(),
            "unet/config.json": _unet_sd(9, 768, 8, 64, linear=False),
            "vae/config.json": _vae(512),
            "text_encoder/config.json": CLIP_L,
            "tokenizer": ("tokenizer", "<|endoftext|>"),
        },
        "sd2": {
            "model_index.json": _index_sd("StableDiffusionPipeline", "DDIMScheduler"),
            "scheduler/scheduler_config.json": _ddim_v(),
            "unet/config.json": {**_unet_sd(4, 1024, [5, 10, 20, 20], 96, linear=True), "upcast_attention": True},
            "vae/config.json": _vae(768),
            "text_encoder/config.json": OPENCLIP_H,
            "tokenizer": ("tokenizer", "!"),
        },
        "sd2-inpainting": {
            "model_index.json": _index_sd("StableDiffusionInpaintPipeline", "PNDMScheduler"),
            "scheduler/scheduler_config.json": _pndm(),
            "unet/config.json": _unet_sd(9, 1024, [5, 10, 20, 20], 64, linear=True),
            "vae/config.json": _vae(512),
            "text_encoder/config.json": OPENCLIP_H,
            "tokenizer": ("tokenizer", "!"),
        },
        "sdxl": {
            "model_index.json": _index_sdxl("StableDiffusionXLPipeline", inpainting=False),
            "scheduler/scheduler_config.json": _euler(),
            "unet/config.json": _unet_sdxl(4),
            "vae/config.json": _vae(1024, scaling=0.13025),
            "text_encoder/config.json": CLIP_L,
            "text_encoder_2/config.json": OPENCLIP_BIGG,
            "tokenizer": ("tokenizer", "<|endoftext|>"),
            "tokenizer_2": ("tokenizer", "!"),
        },
        "sdxl-inpainting": {
            "model_index.json": _index_sdxl("StableDiffusionXLInpaintPipeline", inpainting=True),
            "scheduler/scheduler_config.json": _euler(),
            "unet/config.json": _unet_sdxl(9),
            "vae/config.json": _vae(1024, scaling=0.13025),
            "text_encoder/config.json": CLIP_L,
            "text_encoder_2/config.json": OPENCLIP_BIGG,
            "tokenizer": ("tokenizer", "<|endoftext|>"),
            "tokenizer_2": ("tokenizer", "!"),
        },
        "sd3": {
            "model_index.json": _index_sd3(),
            "scheduler/scheduler_config.json": {
                "_class_name": "FlowMatchEulerDiscreteScheduler",
                "num_train_timesteps": 1000,
                "shift": 3.0,
            },
            "transformer/config.json": SD35_LARGE_TRANSFORMER,
            "vae/config.json": _vae_16(1.5305, 0.0609),
            "text_encoder/config.json": CLIP_L_PROJ,
            "text_encoder_2/config.json": OPENCLIP_BIGG,
            "text_encoder_3/config.json": T5_XXL,
            "tokenizer": ("tokenizer", "<|endoftext|>"),
            "tokenizer_2": ("tokenizer", "!"),
            "tokenizer_3": ("t5",),
        },
        "flux": {
            "model_index.json": _index_flux(),
            "scheduler/scheduler_config.json": {
                "_class_name": "FlowMatchEulerDiscreteScheduler",
                "base_image_seq_len": 256,
                "base_shift": 0.5,
                "max_image_seq_len": 4096,
                "max_shift": 1.15,
                "num_train_timesteps": 1000,
                "shift": 3.0,
                "use_dynamic_shifting": True,
            },
            "transformer/config.json": FLUX_DEV_TRANSFORMER,
            "vae/config.json": _vae_16(0.3611, 0.1159),
            "text_encoder/config.json": CLIP_L,
            "text_encoder_2/config.json": T5_XXL,
            "tokenizer": ("tokenizer", "<|endoftext|>"),
            "tokenizer_2": ("t5",),
        },
    }


# ---- tokenizer -------------------------------------------------------------------------


def read_merges(bpe: Path) -> list[str]:
    """The merge lines of CLIP's BPE file (from the ``.txt.gz`` itself or an open_clip wheel)."""
    if bpe.suffix == ".whl":
        with zipfile.ZipFile(bpe) as wheel:
            raw = wheel.read(BPE_MEMBER)
    else:
        raw = bpe.read_bytes()
    lines = gzip.GzipFile(fileobj=io.BytesIO(raw)).read().decode("utf-8").split("\n")
    merges = lines[1 : 1 + MERGES]  # the first line is a header
    if len(merges) != MERGES:
        raise SystemExit(f"{bpe}: expected {MERGES} merge lines, found {len(merges)}")
    return merges


def clip_vocab(merges: list[str]) -> list[str]:
    chars = list(bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges]
    return [*vocab, "<|startoftext|>", "<|endoftext|>"]


def write_tokenizer(folder: Path, merges: list[str], pad_token: str, work: Path) -> None:
    """Save a CLIP tokenizer as transformers does (``tokenizer.json`` compacted to halve its size)."""
    from transformers import CLIPTokenizer

    vocab = clip_vocab(merges)
    assert len(vocab) == 49408, len(vocab)
    vocab_file, merges_file = work / "vocab.json", work / "merges.txt"
    vocab_file.write_text(json.dumps({t: i for i, t in enumerate(vocab)}), encoding="utf-8")
    merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    tokenizer = CLIPTokenizer(str(vocab_file), str(merges_file), model_max_length=77, pad_token=pad_token)
    ids = tokenizer("a photo of a cat").input_ids
    assert ids == [49406, 320, 1125, 539, 320, 2368, 49407], ids
    tokenizer.save_pretrained(folder)
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    compact = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    (folder / "tokenizer.json").write_text(compact, encoding="utf-8")


def read_t5_tokenizer(sdist: Path) -> str:
    """The T5 ``tokenizer.json`` that stable-diffusion.cpp embeds as a C byte array (from its Python sdist)."""
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(T5_MEMBER))
        source = archive.extractfile(member)
        assert source is not None
        text = source.read().decode("ascii")
    start = text.index(T5_ARRAY)
    body = text[text.index("{", start) : text.index("};", start)]
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9a-fA-F]{2})", body)).decode("utf-8")


def write_t5_tokenizer(folder: Path, tokenizer_json: str, work: Path) -> None:
    from transformers import T5TokenizerFast

    source = work / "t5-tokenizer.json"
    source.write_text(tokenizer_json, encoding="utf-8")
    tokenizer = T5TokenizerFast(tokenizer_file=str(source), model_max_length=512, extra_ids=0)
    assert len(tokenizer) == 32100, len(tokenizer)
    assert tokenizer("a photo of a cat").input_ids == T5_CAT_IDS
    tokenizer.save_pretrained(folder)
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    compact = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    (folder / "tokenizer.json").write_text(compact, encoding="utf-8")


def fetch_sdcpp(work: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", SDCPP, "-d", str(work)],
        check=True,
    )
    return next(work.glob("stable_diffusion_cpp_python-*.tar.gz"))


def fetch_bpe(work: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "open_clip_torch", "-d", str(work)],
        check=True,
    )
    return next(work.glob("open_clip_torch-*.whl"))


# ---- output and checks -----------------------------------------------------------------


def write_folder(folder: Path, files: dict[str, Any], merges: list[str], t5: str, work: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    for rel, data in files.items():
        target = folder / rel
        if isinstance(data, tuple):
            if data[0] == "t5":
                write_t5_tokenizer(target, t5, work)
            else:
                write_tokenizer(target, merges, data[1], work)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def check_folder(folder: Path) -> None:
    """Each model builds from its config (on the meta device: no memory); each tokenizer gives CLIP's ids."""
    import diffusers
    import transformers
    from accelerate import init_empty_weights

    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or value[0] is None:
            continue
        library, cls_name = value
        if cls_name == "CLIPTokenizer":
            tokenizer = transformers.CLIPTokenizer.from_pretrained(folder / name)
            assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
        elif cls_name == "T5TokenizerFast":
            t5 = transformers.T5TokenizerFast.from_pretrained(folder / name)
            assert t5("a photo of a cat").input_ids == T5_CAT_IDS
        elif cls_name == "T5EncoderModel":
            with init_empty_weights():
                transformers.T5EncoderModel(transformers.T5Config.from_pretrained(folder / name))
        elif library == "diffusers" and name == "scheduler":
            cls = getattr(diffusers, cls_name)
            cls.from_config(cls.load_config(folder / name))
        elif library == "diffusers":
            cls = getattr(diffusers, cls_name)
            with init_empty_weights():
                cls.from_config(cls.load_config(folder / name))
        else:
            config = transformers.CLIPTextConfig.from_pretrained(folder / name)
            with init_empty_weights():
                getattr(transformers, cls_name)(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bpe", type=Path, help="bpe_simple_vocab_16e6.txt.gz or an open_clip_torch wheel")
    parser.add_argument("--sdcpp", type=Path, help="the stable-diffusion-cpp-python source distribution (.tar.gz)")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "model-configs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        merges = read_merges(args.bpe or fetch_bpe(work))
        t5 = read_t5_tokenizer(args.sdcpp or fetch_sdcpp(work))
        for name, files in families().items():
            folder = args.out / name
            write_folder(folder, files, merges, t5, work)
            check_folder(folder)
            print(f"wrote {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
