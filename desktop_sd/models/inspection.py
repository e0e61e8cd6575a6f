"""What a model file or folder holds, without loading it: integrity, family, inpainting, offline config.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON
header naming each tensor's dtype, shape and byte range, then the data. All
checks here read only the header (or a diffusers folder's UNet config), so
they take milliseconds even for a 7 GB file, and need no torch.
"""

from __future__ import annotations

import itertools
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_sd.core import paths
from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family

MAX_HEADER_BYTES = 100 * 1024 * 1024
_CROSS_ATTENTION_FAMILY = {768: Family.SD1, 1024: Family.SD2, 2048: Family.SDXL}
# model_index.json class names of the flow-matching families (SD 1.x/2.x and SDXL are told from the UNet).
_FOLDER_CLASS_FAMILY = {
    "StableDiffusion3Pipeline": Family.SD3,
    "StableDiffusion3Img2ImgPipeline": Family.SD3,
    "StableDiffusion3InpaintPipeline": Family.SD3,
    "FluxPipeline": Family.FLUX,
    "FluxImg2ImgPipeline": Family.FLUX,
    "FluxInpaintPipeline": Family.FLUX,
    "FluxFillPipeline": Family.FLUX,
}

_DTYPE_SIZES = {
    "F64": 8,
    "I64": 8,
    "U64": 8,
    "F32": 4,
    "I32": 4,
    "U32": 4,
    "F16": 2,
    "BF16": 2,
    "I16": 2,
    "U16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
}


@dataclass(frozen=True)
class CheckpointInfo:
    family: Family
    inpainting: bool
    kind: str  # "checkpoint" (a whole model), "vae", "taesd" or "unknown"
    tensors: int


def _corrupt(path: Path, why: str) -> ModelError:
    return ModelError(
        f"{path.name} is a corrupt or incomplete model file ({why}). "
        "Download or copy it again; if it came from a download, remove it and retry."
    )


def read_header(path: Path) -> dict[str, Any]:
    """Parse and check a safetensors header: every tensor must lie inside the file, none overlapping."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise _corrupt(path, "the file is shorter than a safetensors header")
            (length,) = struct.unpack("<Q", head)
            if length > MAX_HEADER_BYTES or 8 + length > size:
                raise _corrupt(path, "its header is longer than the file")
            raw = fh.read(length)
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _corrupt(path, "its header is not valid JSON") from None
    if not isinstance(header, dict):
        raise _corrupt(path, "its header is not a JSON object")
    data_size = size - 8 - length
    ranges: list[tuple[int, int]] = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            start, end = (int(v) for v in entry["data_offsets"])
            dtype, shape = entry["dtype"], entry["shape"]
        except (KeyError, TypeError, ValueError):
            raise _corrupt(path, f"tensor {name!r} has a malformed entry") from None
        if not 0 <= start <= end:
            raise _corrupt(path, f"tensor {name!r} has an invalid byte range")
        if end > data_size:
            raise _corrupt(path, "it is truncated: tensors extend past the end of the file")
        if not isinstance(shape, list) or not all(isinstance(dim, int) and dim >= 0 for dim in shape):
            raise _corrupt(path, f"tensor {name!r} has a negative or malformed dimension")
        count = 1
        for dim in shape:
            count *= dim
        if dtype in _DTYPE_SIZES and count * _DTYPE_SIZES[dtype] != end - start:
            raise _corrupt(path, f"tensor {name!r} has the wrong byte length for its shape")
        ranges.append((start, end))
    ranges.sort()
    for (_, prev_end), (start, _) in itertools.pairwise(ranges):
        if start < prev_end:
            raise _corrupt(path, "tensors overlap")
    return header


def detect(path: Path) -> CheckpointInfo:
    """Tell the model family from the tensor names and shapes (never from the file name)."""
    header = read_header(path)
    keys = {k: v for k, v in header.items() if k != "__metadata__"}
    return detect_from_shapes({k: tuple(v["shape"]) for k, v in keys.items()})


@dataclass(frozen=True)
class FlowTransformer:
    """What a file holding an SD 3 or Flux transformer is."""

    family: Family
    inpainting: bool  # Flux Fill: its input layer reads six times a regular Flux one's channels (384, not 64)
    guidance: bool  # Flux dev's distilled guidance (schnell has none)


def flow_transformer(shapes: dict[str, tuple[int, ...]]) -> FlowTransformer | None:
    """SD 3 (MMDiT ``joint_blocks``) or Flux (``double_blocks``) in the original layout, with or without the
    ``model.diffusion_model.`` prefix, or either in diffusers' layout; else None."""
    names = [k.removeprefix("model.diffusion_model.") for k in shapes]
    short = {k.removeprefix("model.diffusion_model."): v for k, v in shapes.items()}
    if any(n.startswith("joint_blocks.") for n in names) or "pos_embed.proj.weight" in short:
        return FlowTransformer(Family.SD3, False, False)
    if any(n.startswith(("double_blocks.", "single_transformer_blocks.")) for n in names):
        embed = short.get("img_in.weight") or short.get("x_embedder.weight") or ()
        guidance = any(n.startswith(("guidance_in.", "time_text_embed.guidance_embedder.")) for n in names)
        return FlowTransformer(Family.FLUX, 384 in embed, guidance)
    return None


def _flow_family(shapes: dict[str, tuple[int, ...]]) -> CheckpointInfo | None:
    flow = flow_transformer(shapes)
    return None if flow is None else CheckpointInfo(flow.family, flow.inpainting, "checkpoint", len(shapes))


def detect_from_shapes(shapes: dict[str, tuple[int, ...]]) -> CheckpointInfo:
    prefix = "model.diffusion_model."
    tensors = len(shapes)
    flow = _flow_family(shapes)
    if flow is not None:
        return flow
    conv_in = shapes.get(prefix + "input_blocks.0.0.weight")
    if conv_in is not None:
        inpainting = len(conv_in) > 1 and conv_in[1] == 9
        if any(k.startswith("conditioner.embedders.1.model.") for k in shapes):
            family = Family.SDXL
        else:
            attn = shapes.get(prefix + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight") or shapes.get(
                prefix + "input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight"
            )
            if attn is not None and attn[-1] == 1024:
                family = Family.SD2
            elif attn is not None and attn[-1] == 2048:
                family = Family.SDXL
            else:
                family = Family.SD1
        return CheckpointInfo(family, inpainting, "checkpoint", tensors)
    # diffusers-named UNet weights saved as one file
    conv_in = shapes.get("conv_in.weight")
    if conv_in is not None and "time_embedding.linear_1.weight" in shapes:
        cross = shapes.get("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight")
        family = Family.UNKNOWN
        if cross is not None:
            family = _CROSS_ATTENTION_FAMILY.get(cross[-1], Family.UNKNOWN)
        return CheckpointInfo(family, len(conv_in) > 1 and conv_in[1] == 9, "unet", tensors)
    if any(k.startswith(("encoder.down.", "decoder.up.", "encoder.down_blocks.")) for k in shapes):
        return CheckpointInfo(Family.UNKNOWN, False, "vae", tensors)
    if any(k.startswith(("encoder.layers.", "decoder.layers.")) for k in shapes):
        return CheckpointInfo(Family.UNKNOWN, False, "taesd", tensors)
    return CheckpointInfo(Family.UNKNOWN, False, "unknown", tensors)


def describe_folder(folder: Path) -> tuple[Family, bool]:
    """Family and inpainting flag of a diffusers folder, from its pipeline class (SD 3, Flux) or UNet config."""
    flow = _describe_flow_folder(folder)
    if flow is not None:
        return flow
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


def _describe_flow_folder(folder: Path) -> tuple[Family, bool] | None:
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    class_name = index.get("_class_name") if isinstance(index, dict) else None
    family = _FOLDER_CLASS_FAMILY.get(class_name) if isinstance(class_name, str) else None
    if family is None:
        return None
    if family is Family.SD3:
        return family, False
    try:
        config = json.loads((folder / "transformer" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return family, class_name == "FluxFillPipeline"
    in_channels = config.get("in_channels")
    out_channels = config.get("out_channels") or in_channels
    return family, bool(isinstance(in_channels, int) and in_channels == 6 * out_channels)


def config_dir_for(family: Family, inpainting: bool) -> Path | None:
    """The shipped diffusers-layout config folder a single-file checkpoint of this family loads with."""
    if family is Family.UNKNOWN:
        return None
    name = f"{family}-inpainting" if inpainting else str(family)
    folder = paths.resources_dir() / "model-configs" / name
    return folder if folder.is_dir() else None
