"""A separate VAE swapped into the loaded model (and back), without reloading the model.

A single-file VAE (A1111's ``vae-ft-mse-840000-ema-pruned.safetensors``, the
fp16-fixed SDXL VAE...) loads with ``AutoencoderKL.from_single_file`` offline:
its configuration is the loaded model's own VAE configuration (same layout,
same latent scaling), written once to a small folder in the cache. A diffusers
VAE folder loads with ``from_pretrained``.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DiffusionPipeline

from desktop_sd.core import paths
from desktop_sd.core.errors import InputError, ModelError
from desktop_sd.core.model_files import PICKLE_SUFFIXES
from desktop_sd.engine.loading import read_tensor_table


def _config_folder(own: AutoencoderKL) -> Path:
    """A folder holding ``config.json`` of the model's own VAE (``from_single_file`` reads it from there)."""
    config = dict(own.config)
    text = json.dumps(config, sort_keys=True, default=str)
    folder = paths.cache_dir() / "vae-configs" / hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    if not (folder / "config.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        own.save_config(str(folder))
    return folder


def load_vae(path: Path, own: AutoencoderKL, dtype: torch.dtype) -> AutoencoderKL:
    """Load the VAE at ``path`` (a file or a diffusers folder) on the CPU at ``dtype``."""
    if not path.exists():
        raise InputError(f"The VAE {path} is missing. Install it again, or choose the model's own VAE.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            if path.is_dir():
                vae = AutoencoderKL.from_pretrained(str(path), local_files_only=True, torch_dtype=dtype)
            else:
                _check_file(path)
                vae = AutoencoderKL.from_single_file(
                    str(path), config=str(_config_folder(own)), local_files_only=True, torch_dtype=dtype
                )
    except (InputError, ModelError):
        raise
    except Exception as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        text = lines[0][:240] if lines else type(exc).__name__
        raise InputError(
            f"The VAE {path.name} could not be loaded ({text}). Check that it is a VAE for this model's family."
        ) from None
    vae.eval()
    return vae


def _check_file(path: Path) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES or path.suffix.lower() != ".safetensors":
        raise InputError(
            f"The VAE {path.name} is not a .safetensors file; only those are loaded (pickles can hide code)."
        )
    names = read_tensor_table(path)
    if not any(n.startswith(("encoder.", "decoder.", "first_stage_model.")) for n in names):
        raise InputError(f"{path.name} is not a VAE file (it has no encoder and decoder weights).")


def swap_vae(pipes: list[DiffusionPipeline], vae: AutoencoderKL) -> None:
    """Put ``vae`` into every pipeline of the model (they share the other components)."""
    for pipe in pipes:
        pipe.register_modules(vae=vae)
