"""Turn what a user names as a model into files on disk (a ``ModelRef``).

Accepted: a diffusers folder, a ``.safetensors`` checkpoint, or a Hugging Face
repo id already in the local Hub cache. Resolution never touches the network.
"""

from __future__ import annotations

import json
from pathlib import Path

from desktop_sd.core import paths
from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, ModelFormat, ModelRef
from desktop_sd.models import checkpoint

_CROSS_ATTENTION_FAMILY = {768: Family.SD1, 1024: Family.SD2, 2048: Family.SDXL}


def config_dir_for(family: Family, inpainting: bool) -> Path | None:
    """The shipped diffusers-layout config folder a single-file checkpoint of this family loads with."""
    if family is Family.UNKNOWN:
        return None
    name = f"{family}-inpainting" if inpainting else str(family)
    folder = paths.resources_dir() / "model-configs" / name
    return folder if folder.is_dir() else None


def describe_folder(folder: Path) -> tuple[Family, bool]:
    """Family and inpainting flag of a diffusers folder, from its UNet config."""
    try:
        config = json.loads((folder / "unet" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Family.UNKNOWN, False
    cross = config.get("cross_attention_dim")
    if isinstance(cross, list):
        cross = cross[0]
    family = _CROSS_ATTENTION_FAMILY.get(cross, Family.UNKNOWN)
    if config.get("addition_embed_type") == "text_time":
        family = Family.SDXL
    return family, config.get("in_channels") == 9


def ref_for_path(path: Path, model_id: str | None = None) -> ModelRef:
    model_id = model_id or str(path)
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise ModelError(
                f"{path} is a folder but not a diffusers model (it has no model_index.json). "
                "Pick the model's own folder or its .safetensors file."
            )
        family, inpainting = describe_folder(path)
        return ModelRef(model_id, path, ModelFormat.DIFFUSERS, family, inpainting)
    suffix = path.suffix.lower()
    if suffix in (".ckpt", ".pt", ".pth", ".bin"):
        raise ModelError(
            f"{path.name} is a pickle checkpoint, which can hide code. Import it first with "
            f"'desktop-sd models import {path}' (or Models > Import) to convert it to .safetensors safely."
        )
    if suffix != ".safetensors":
        raise ModelError(f"{path.name} is not a model file Desktop SD can load (use .safetensors).")
    info = checkpoint.detect(path)
    if info.kind != "checkpoint":
        raise ModelError(f"{path.name} is a {info.kind} file, not a whole Stable Diffusion checkpoint.")
    config = config_dir_for(info.family, info.inpainting)
    return ModelRef(model_id, path, ModelFormat.SINGLE_FILE, info.family, info.inpainting, config)


def resolve_model(model: str) -> ModelRef:
    """Resolve a folder, a file, or a repo id in the local Hub cache. Never downloads."""
    if not model:
        raise ModelError("No model chosen. Install one from Models, or pass --model.")
    path = Path(model).expanduser()
    if path.exists():
        return ref_for_path(path.resolve(), model)
    if model.count("/") == 1 and not model.startswith((".", "/", "~")):
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            folder = Path(snapshot_download(model, local_files_only=True))
        except (LocalEntryNotFoundError, OSError, ValueError):
            raise ModelError(
                f"Model {model!r} is not installed and is not available offline. "
                f"Install it with 'desktop-sd models download {model}' (or Models > Download)."
            ) from None
        return ref_for_path(folder, model)
    raise ModelError(f"Model {model!r} not found: give a diffusers folder, a .safetensors file or a repo id.")
