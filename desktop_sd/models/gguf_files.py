"""Quantized transformers in GGUF files (as Flux and SD 3.5 users run them on 8-12 GB GPUs).

A ``.gguf`` file holds only the transformer, quantized (Q8_0, Q4_K, ...). The text encoders, VAE,
tokenizers and configs come from an installed diffusers model of the same family and kind (Flux
dev or schnell: with or without distilled guidance; Fill), which becomes the ``ModelRef``'s
``config_dir``. Only the file's header is read here (names and shapes), so this takes milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, ModelFormat, ModelRef

FAMILY_NAMES = {Family.FLUX: "Flux.1", Family.SD3: "SD 3"}


@dataclass(frozen=True)
class GgufInfo:
    family: Family
    inpainting: bool  # Flux Fill
    guidance: bool  # Flux dev's distilled guidance (schnell has none)


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


def read_gguf(path: Path) -> GgufInfo:
    """Family, Fill and guidance of a GGUF transformer, from its tensor names (original or diffusers layout)."""
    from gguf import GGUFReader  # numpy only; imported here so that listing models never pays for it

    try:
        reader = GGUFReader(str(path))
        shapes = {tensor.name: tuple(int(d) for d in tensor.shape) for tensor in reader.tensors}
    except (OSError, ValueError, IndexError, KeyError) as exc:
        raise ModelError(
            f"{path.name} is a corrupt or incomplete GGUF file ({exc}). Download or copy it again."
        ) from None
    names = list(shapes)
    if any(n.startswith(("double_blocks.", "single_transformer_blocks.")) for n in names):
        family = Family.FLUX
    elif any(n.startswith("joint_blocks.") for n in names) or "pos_embed.proj.weight" in shapes:
        family = Family.SD3
    else:
        raise ModelError(
            f"{path.name} is not a Flux.1 or SD 3 transformer; Desktop SD runs GGUF files of those two only."
        )
    guidance = any(n.startswith(("guidance_in.", "time_text_embed.guidance_embedder.")) for n in names)
    embed = shapes.get("img_in.weight") or shapes.get("x_embedder.weight") or ()
    return GgufInfo(family, family is Family.FLUX and 384 in embed, guidance)


def _guidance_of(folder: Path) -> bool | None:
    try:
        config = json.loads((folder / "transformer" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return bool(config.get("guidance_embeds", False)) if isinstance(config, dict) else None


def find_base(info: GgufInfo, installed: Iterable[InstalledLike]) -> Path | None:
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


def ref_for_gguf(path: Path, model_id: str, installed: Iterable[InstalledLike]) -> ModelRef:
    """A ``ModelRef`` for a GGUF transformer, with the installed model that supplies the rest."""
    info = read_gguf(path)
    base = find_base(info, installed)
    if base is None:
        kind = FAMILY_NAMES[info.family]
        if info.family is Family.FLUX:
            kind = "FLUX.1 Fill [dev]" if info.inpainting else ("FLUX.1 [dev]" if info.guidance else "FLUX.1 [schnell]")
        raise ModelError(
            f"{path.name} holds only a quantized {FAMILY_NAMES[info.family]} transformer. Its text encoders, VAE and "
            f"tokenizers come from an installed {kind} model as a diffusers folder: install one from "
            "Models > Download, then choose this file again."
        )
    return ModelRef(model_id, path, ModelFormat.GGUF, info.family, info.inpainting, base)
