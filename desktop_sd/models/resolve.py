"""Turn what a user names as a model into files on disk (a ``ModelRef``).

Accepted: an installed model's id (see ``registry``), a diffusers folder, a
``.safetensors`` checkpoint, or a Hugging Face repo id already in the local Hub
cache. Resolution never touches the network.
"""

from __future__ import annotations

from pathlib import Path

from desktop_sd.core.errors import ModelError
from desktop_sd.core.model_files import PICKLE_SUFFIXES
from desktop_sd.core.request import Family, ModelFormat, ModelRef
from desktop_sd.models import hfcache, inspection, transformer_files
from desktop_sd.models.catalog import find_entry
from desktop_sd.models.registry import InstalledModel, Registry

FLOW_FAMILIES = (Family.SD3, Family.FLUX)


def ref_for_path(path: Path, model_id: str | None = None) -> ModelRef:
    model_id = model_id or str(path)
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise ModelError(
                f"{path} is a folder but not a diffusers model (it has no model_index.json). "
                "Pick the model's own folder or its .safetensors file."
            )
        family, inpainting = inspection.describe_folder(path)
        return ModelRef(model_id, path, ModelFormat.DIFFUSERS, family, inpainting)
    suffix = path.suffix.lower()
    if suffix == ".gguf":
        return transformer_files.ref_for_file(path, model_id, Registry().installed())
    if suffix in PICKLE_SUFFIXES:
        raise ModelError(
            f"{path.name} is a pickle checkpoint, which can hide code. Import it first with "
            f"'desktop-sd models import {path}' (or Models > Import) to convert it to .safetensors safely."
        )
    if suffix != ".safetensors":
        raise ModelError(f"{path.name} is not a model file Desktop SD can load (use .safetensors).")
    info = inspection.detect(path)
    if info.kind != "checkpoint":
        raise ModelError(f"{path.name} is a {info.kind} file, not a whole Stable Diffusion checkpoint.")
    if info.family in FLOW_FAMILIES:  # the transformer; the rest comes from an installed model
        return transformer_files.ref_for_file(path, model_id, Registry().installed())
    config = inspection.config_dir_for(info.family, info.inpainting)
    return ModelRef(model_id, path, ModelFormat.SINGLE_FILE, info.family, info.inpainting, config)


def _looks_like_path(text: str) -> bool:
    return (
        Path(text).is_absolute()
        or text.startswith((".", "~"))
        or "\\" in text
        or text.lower().endswith((".safetensors", ".gguf", *PICKLE_SUFFIXES))
    )


def _from_hub_cache(text: str) -> ModelRef | None:
    """``owner/name`` or ``owner/name/file.safetensors`` already in the Hugging Face cache."""
    parts = text.split("/")
    if len(parts) < 2 or not hfcache.is_repo_id("/".join(parts[:2])):
        return None
    repo_id, filename = "/".join(parts[:2]), "/".join(parts[2:])
    snapshot = hfcache.snapshot_path(repo_id)
    if snapshot is None:
        return None
    if filename:
        file = snapshot / filename
        return ref_for_path(file, text) if file.is_file() else None
    if (snapshot / "model_index.json").is_file():
        return ref_for_path(snapshot, text)
    singles = sorted(snapshot.glob("*.safetensors"))
    return ref_for_path(singles[0], text) if len(singles) == 1 else None


def resolve_model(model: str) -> ModelRef:
    """Resolve any id ``desktop-sd models list`` prints, a folder, a ``.safetensors`` file, or a repo id
    (or ``repo/file``) in the local Hub cache. Never touches the network."""
    text = model.strip()
    if not text:
        raise ModelError("No model chosen. Install one from Models, or pass --model.")
    path = Path(text).expanduser()
    if _looks_like_path(text) and path.exists():
        return ref_for_path(path.resolve(), text)
    installed = Registry().get(text)
    if installed is not None:
        own = installed.ref()
        if own.format is ModelFormat.SINGLE_FILE and own.family in FLOW_FAMILIES:
            return ref_for_path(own.path, text)  # with the installed model that supplies its text encoders
        return own
    if path.exists():
        return ref_for_path(path.resolve(), text)
    ref = _from_hub_cache(text)
    if ref is not None:
        return ref
    entry = find_entry(text)
    if entry is not None or hfcache.is_repo_id(text):
        name = entry.name if entry is not None else text
        raise ModelError(
            f"Model {name} is not installed, so it is not available offline. "
            f"Install it with 'desktop-sd models download {text}' (or Models > Download)."
        )
    raise ModelError(
        f"Model {text!r} not found: give an id from 'desktop-sd models list', a diffusers folder, "
        "a .safetensors file or a Hugging Face repo id."
    )


def missing_parts(model: InstalledModel) -> str:
    """Why an installed SD 3 / Flux single file cannot run yet (its text encoders or VAE are nowhere: the
    message says where to put them or what to download), or "". Reads file headers only."""
    if model.kind != "checkpoint" or model.family not in FLOW_FAMILIES or not model.path.is_file():
        return ""
    try:
        ref_for_path(model.path, model.id)
    except ModelError as exc:
        return str(exc)
    return ""
