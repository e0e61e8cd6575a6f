"""SD 3 and Flux transformers in files of their own: single ``.safetensors`` files, and quantized
GGUF files (as Flux and SD 3.5 users run them on 8-12 GB GPUs).

Such a file holds the transformer (a ``.safetensors`` one may hold the VAE or CLIP too; they are not
used). The text encoders, VAE, tokenizers and configs come from an installed diffusers model of
the same family and kind (Flux dev or schnell: with or without distilled guidance; Fill), which
becomes the ``ModelRef``'s ``config_dir``: T5-XXL's weights and tokenizer, which such files lack,
cannot be had offline any other way. Only the file's header is read here, in milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, ModelFormat, ModelRef
from desktop_sd.models.inspection import FlowTransformer, detect_flow, flow_transformer

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


def ref_for_file(path: Path, model_id: str, installed: Iterable[InstalledLike]) -> ModelRef:
    """A ``ModelRef`` for a transformer file (``.gguf``, or a ``.safetensors`` SD 3 / Flux file), with the
    installed model that supplies the rest."""
    gguf = path.suffix.lower() == ".gguf"
    info = read_gguf(path) if gguf else detect_flow(path)
    if info is None:
        raise ModelError(f"{path.name} is not an SD 3 or Flux.1 model file.")
    base = find_base(info, installed)
    if base is None:
        kind = FAMILY_NAMES[info.family]
        if info.family is Family.FLUX:
            kind = "FLUX.1 Fill [dev]" if info.inpainting else ("FLUX.1 [dev]" if info.guidance else "FLUX.1 [schnell]")
        what = "a quantized" if gguf else "a"
        raise ModelError(
            f"{path.name} holds {what} {FAMILY_NAMES[info.family]} transformer without the T5 text encoder and its "
            f"tokenizer, which cannot be had offline. They come from an installed {kind} model as a diffusers "
            "folder: install one from Models > Download, then choose this file again."
        )
    fmt = ModelFormat.GGUF if gguf else ModelFormat.SINGLE_FILE
    return ModelRef(model_id, path, fmt, info.family, info.inpainting, base)
