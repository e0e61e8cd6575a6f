"""SD 3 and Flux transformers in files of their own: single ``.safetensors`` files, and quantized
GGUF files (as Flux and SD 3.5 users run them on 8-12 GB GPUs).

Such a file holds the transformer, and sometimes the VAE and text encoders as well (all-in-one
checkpoints). What it lacks comes, in this order of preference, from split files found where ComfyUI
and Forge keep them (``part_files``: ``clip_l``, ``clip_g``, ``t5xxl``, ``ae``), loaded with the
configs and tokenizers shipped in ``resources/model-configs``; or from an installed diffusers model of
the same family and kind (Flux dev or schnell: with or without distilled guidance; Fill), which then
becomes the ``ModelRef``'s ``config_dir``. Only file headers are read here, in milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from desktop_sd.core import flow_parts
from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, ModelFormat, ModelRef
from desktop_sd.models.inspection import FlowTransformer, config_dir_for, flow_transformer, read_header
from desktop_sd.models.part_files import find_parts

FAMILY_NAMES = {Family.FLUX: "Flux.1", Family.SD3: "SD 3"}


class InstalledLike(Protocol):
    """What ``find_base`` reads of an installed model (``registry.InstalledModel`` has these)."""

    @property
    def family(self) -> Family: ...
    @property
    def inpainting(self) -> bool: ...
    @property
    def path(self) -> Path: ...
    @property
    def kind(self) -> str: ...
    @property
    def available(self) -> bool: ...


def read_gguf(path: Path) -> FlowTransformer:
    """Family, Fill and guidance of a GGUF transformer, from its tensor names (original or diffusers layout)."""
    from gguf import GGUFReader  # numpy only; imported here so that listing models never pays for it

    try:
        reader = GGUFReader(str(path))
        shapes = {tensor.name: tuple(int(d) for d in tensor.shape) for tensor in reader.tensors}
    except (OSError, ValueError, IndexError, KeyError) as exc:
        raise ModelError(
            f"{path.name} is a corrupt or incomplete GGUF file ({exc}). Download or copy it again."
        ) from None
    info = flow_transformer(shapes)
    if info is None:
        raise ModelError(
            f"{path.name} is not a Flux.1 or SD 3 transformer; Desktop SD runs GGUF files of those two only."
        )
    return info


def _guidance_of(folder: Path) -> bool | None:
    try:
        config = json.loads((folder / "transformer" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return bool(config.get("guidance_embeds", False)) if isinstance(config, dict) else None


def find_base(info: FlowTransformer, installed: Iterable[InstalledLike]) -> Path | None:
    """The folder of an installed diffusers model the GGUF transformer can run in, or None."""
    for model in installed:
        folder = model.path
        if not (model.kind == "checkpoint" and model.available and folder.is_dir()):
            continue
        if model.family is not info.family or model.inpainting != info.inpainting:
            continue
        if info.family is Family.FLUX and _guidance_of(folder) != info.guidance:
            continue
        return folder
    return None


def _kind_name(info: FlowTransformer) -> str:
    if info.family is Family.FLUX:
        return "FLUX.1 Fill [dev]" if info.inpainting else ("FLUX.1 [dev]" if info.guidance else "FLUX.1 [schnell]")
    return "SD 3.5"


def ref_for_file(
    path: Path, model_id: str, installed: Iterable[InstalledLike], app_folders: Iterable[Path] | None = None
) -> ModelRef:
    """A ``ModelRef`` for a transformer file (``.gguf``, or a ``.safetensors`` SD 3 / Flux file), with
    where the parts it lacks come from: split files beside it or in a linked app, else an installed model."""
    gguf = path.suffix.lower() == ".gguf"
    info: FlowTransformer | None
    if gguf:
        info, own = read_gguf(path), {flow_parts.TRANSFORMER: ""}
    else:
        shapes = {k: tuple(v["shape"]) for k, v in read_header(path).items() if k != "__metadata__"}
        info, own = flow_transformer(shapes), flow_parts.parts_in(shapes)
    if info is None:
        raise ModelError(f"{path.name} is not an SD 3 or Flux.1 model file.")
    fmt = ModelFormat.GGUF if gguf else ModelFormat.SINGLE_FILE
    shipped = config_dir_for(info.family, False)
    search = find_parts(path, info.family, own, app_folders)
    if shipped is not None and not search.missing:
        return ModelRef(model_id, path, fmt, info.family, info.inpainting, shipped, search.files)
    base = find_base(info, installed)
    if base is not None:
        return ModelRef(model_id, path, fmt, info.family, info.inpainting, base)
    lacking = "; ".join(flow_parts.PART_NAMES[p] for p in search.missing)
    skipped = f" ({'; '.join(search.skipped)})" if search.skipped else ""
    what = "a quantized" if gguf else "a"
    raise ModelError(
        f"{path.name} holds {what} {FAMILY_NAMES[info.family]} transformer; it needs the {lacking}{skipped}, "
        "found neither in the file nor beside it. Put those files next to it or in a linked ComfyUI or Forge "
        f"folder (text_encoders, clip, vae), or download the {FAMILY_NAMES[info.family]} text encoders and VAE "
        f"(or the whole {_kind_name(info)}) from Models > Download, then choose this file again."
    )
