"""Small model files for tests: checkpoints with the key names and shapes of each family, add-ons, damage."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from desktop_sd.core.request import Family
from desktop_sd.models import hfcache

_TEXT_DIM = {Family.SD1: 768, Family.SD2: 1024, Family.SDXL: 2048}


def checkpoint_tensors(family: Family = Family.SD1, inpainting: bool = False) -> dict[str, np.ndarray]:
    """The signature tensors ``inspection.detect`` reads, at toy sizes (all other weights left out)."""
    unet = "model.diffusion_model."
    tensors = {
        unet + "input_blocks.0.0.weight": np.zeros((8, 9 if inpainting else 4, 3, 3), np.float16),
        unet + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": np.zeros((8, _TEXT_DIM[family]), np.float16),
        unet + "output_blocks.11.0.skip_connection.weight": np.ones((8, 8, 1, 1), np.float16),
        "first_stage_model.decoder.conv_out.weight": np.ones((3, 8, 3, 3), np.float16),
    }
    if family is Family.SD1:
        tensors["cond_stage_model.transformer.text_model.final_layer_norm.weight"] = np.ones(8, np.float16)
    elif family is Family.SD2:
        tensors["cond_stage_model.model.ln_final.weight"] = np.ones(8, np.float16)
    else:
        tensors["conditioner.embedders.1.model.ln_final.weight"] = np.ones(8, np.float16)
    return tensors


def make_checkpoint(path: Path, family: Family = Family.SD1, inpainting: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(checkpoint_tensors(family, inpainting), str(path))
    return path


def checkpoint_bytes(family: Family = Family.SD1, inpainting: bool = False) -> bytes:
    from safetensors.numpy import save

    return save(checkpoint_tensors(family, inpainting))


def make_lora(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        {"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": np.zeros((4, 8), np.float16)}, str(path)
    )
    return path


def taesd_bytes() -> bytes:
    from safetensors.numpy import save

    return save({"encoder.layers.0.weight": np.zeros((8, 3, 3, 3), np.float16)})


def truncate(path: Path, keep: float = 0.6) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file of a folder by its relative posix path (a diffusers model as a Hub repo's files)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def put_in_hf_cache(repo_id: str, folder: Path) -> Path:
    """Lay a folder out in the Hub cache the way huggingface_hub does (blobs + symlinked snapshot)."""
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = file.read_bytes()
        etag = hashlib.sha256(data).hexdigest()
        blob = hfcache.blob_path(repo_id, etag)
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        hfcache.link_into_snapshot(repo_id, commit, file.relative_to(folder).as_posix(), etag)
    hfcache.write_ref(repo_id, "main", commit)
    return hfcache.repo_folder(repo_id) / "snapshots" / commit


def make_sparse_checkpoint(path: Path, claimed_bytes: int) -> Path:
    """A checkpoint whose one tensor claims ``claimed_bytes`` of float32 weights, all of them holes on disk."""
    count = claimed_bytes // 4
    tensor = {"dtype": "F32", "shape": [count], "data_offsets": [0, count * 4]}
    header = {"model.diffusion_model.input_blocks.0.0.weight": tensor}
    raw = json.dumps(header).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", len(raw)) + raw)
        stream.truncate(8 + len(raw) + count * 4)
    return path
