"""Write ``resources/model-configs/<family>``: diffusers-layout config folders for single-file checkpoints.

A ``.safetensors`` checkpoint holds weights only. To build a pipeline from one,
diffusers needs the family's configs (model index, scheduler, UNet, VAE, text
encoders) and tokenizer files, which it would otherwise fetch from the Hub.
Shipping them makes single-file loading work with no network.

The configs are those of the public reference models of each family:
``sd1`` = SD 1.5, ``sd1-inpainting`` = SD 1.5 inpainting, ``sd2`` = SD 2.1 (768 px,
v-prediction, what diffusers assumes for an SD 2.x single file), ``sd2-inpainting``
= SD 2 inpainting, ``sdxl`` = SDXL base 1.0, ``sdxl-inpainting`` = SDXL inpainting 0.1.

The tokenizer is derived from the CLIP BPE file that the ``open_clip_torch`` wheel
ships (``open_clip/bpe_simple_vocab_16e6.txt.gz``): pass it with ``--bpe`` (the
``.txt.gz`` or the wheel), or let the script fetch the wheel with ``pip download``.

Run: ``python packaging/make_model_configs.py [--bpe PATH] [--out resources/model-configs]``.
Needs transformers (to save the tokenizer) and diffusers (to check the configs parse).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import shutil
import subprocess
import sys
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


def fetch_bpe(work: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "open_clip_torch", "-d", str(work)],
        check=True,
    )
    return next(work.glob("open_clip_torch-*.whl"))


# ---- output and checks -----------------------------------------------------------------


def write_folder(folder: Path, files: dict[str, Any], merges: list[str], work: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    for rel, data in files.items():
        target = folder / rel
        if isinstance(data, tuple):
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
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "model-configs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        merges = read_merges(args.bpe or fetch_bpe(work))
        for name, files in families().items():
            folder = args.out / name
            write_folder(folder, files, merges, work)
            check_folder(folder)
            print(f"wrote {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
