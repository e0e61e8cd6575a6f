"""SD 3 and Flux.1 told from their files, the flow-matching scheduler list, and their catalog entries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, ModelFormat
from desktop_sd.core.schedulers import SCHEDULER_IDS, scheduler_ids_for
from desktop_sd.models.catalog import load_catalog
from desktop_sd.models.inspection import detect
from desktop_sd.models.registry import Registry
from desktop_sd.models.resolve import resolve_model
from desktop_sd.models.scan import find_models


def _checkpoint(path: Path, shapes: dict[str, tuple[int, ...]]) -> Path:
    save_file({name: np.zeros(shape, dtype=np.float16) for name, shape in shapes.items()}, str(path))
    return path


SD3_KEYS = {
    "model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight": (6, 2),
    "model.diffusion_model.x_embedder.proj.weight": (2, 16, 2, 2),
    "first_stage_model.decoder.conv_in.weight": (4, 16, 3, 3),
    "text_encoders.clip_l.transformer.text_model.final_layer_norm.weight": (4,),
}
FLUX_KEYS = {"double_blocks.0.img_attn.qkv.weight": (6, 2), "img_in.weight": (3, 64)}
FLUX_FILL_KEYS = {
    "model.diffusion_model.double_blocks.0.img_attn.qkv.weight": (6, 2),
    "model.diffusion_model.img_in.weight": (3, 384),
}


def _install_base(folder: Path, family: Family, fill: bool, guidance: bool) -> Path:
    """An installed diffusers model of ``family`` as far as finding a base goes: its index and transformer config."""
    (folder / "transformer").mkdir(parents=True)
    pipeline = "StableDiffusion3Pipeline" if family is Family.SD3 else ("FluxFillPipeline" if fill else "FluxPipeline")
    index = {"_class_name": pipeline}
    (folder / "model_index.json").write_text(json.dumps(index), encoding="utf-8")
    config = {"in_channels": 384 if fill else 64, "out_channels": 64, "guidance_embeds": guidance}
    (folder / "transformer" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    Registry().add(id_hint=folder.name, name=folder.name, path=folder, source="folder", family=family, inpainting=fill)
    return folder


@pytest.mark.parametrize(
    ("keys", "family", "fill"),
    [(SD3_KEYS, Family.SD3, False), (FLUX_KEYS, Family.FLUX, False), (FLUX_FILL_KEYS, Family.FLUX, True)],
)
def test_single_files_are_told_apart_by_their_keys(
    tmp_path: Path, keys: dict[str, tuple[int, ...]], family: Family, fill: bool
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    path = _checkpoint(models / "model.safetensors", keys)  # the name says nothing
    info = detect(path)
    assert (info.family, info.inpainting, info.kind) == (family, fill, "checkpoint")
    assert [found.family for found in find_models(models)] == [family]
    # the transformer runs with the text encoders of an installed model of its kind
    with pytest.raises(ModelError, match=r"transformer; it needs the .*text encoder.*from Models > Download"):
        resolve_model(str(path))
    base = _install_base(tmp_path / "base", family, fill, guidance=False)
    ref = resolve_model(str(path))
    assert (ref.format, ref.family, ref.inpainting, ref.config_dir) == (ModelFormat.SINGLE_FILE, family, fill, base)


def test_a_flux_file_needs_a_base_of_its_own_kind(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path / "flux1-dev.safetensors", {**FLUX_KEYS, "guidance_in.in_layer.weight": (4, 2)})
    _install_base(tmp_path / "schnell", Family.FLUX, fill=False, guidance=False)
    with pytest.raises(ModelError, match=r"the whole FLUX\.1 \[dev\]\) from Models > Download"):
        resolve_model(str(path))
    dev = _install_base(tmp_path / "dev", Family.FLUX, fill=False, guidance=True)
    assert resolve_model(str(path)).config_dir == dev


def test_flow_families_list_only_flow_matching_schedulers() -> None:
    assert scheduler_ids_for(Family.SD3) == scheduler_ids_for(Family.FLUX) == ("default", "euler")
    for family in (Family.SD1, Family.SD2, Family.SDXL, Family.UNKNOWN):
        assert scheduler_ids_for(family) == SCHEDULER_IDS


def test_catalog_offers_sd35_and_flux_with_licences_and_gates() -> None:
    entries = {e.id: e for e in load_catalog()}
    wanted = {
        "sd35-medium": ("stabilityai/stable-diffusion-3.5-medium", Family.SD3, True),
        "sd35-large": ("stabilityai/stable-diffusion-3.5-large", Family.SD3, True),
        "sd35-large-turbo": ("stabilityai/stable-diffusion-3.5-large-turbo", Family.SD3, True),
        "flux1-schnell": ("black-forest-labs/FLUX.1-schnell", Family.FLUX, False),
        "flux1-dev": ("black-forest-labs/FLUX.1-dev", Family.FLUX, True),
        "flux1-fill-dev": ("black-forest-labs/FLUX.1-Fill-dev", Family.FLUX, True),
    }
    assert {k: (entries[k].repo_id, entries[k].family, entries[k].gated) for k in wanted} == wanted
    assert entries["flux1-schnell"].licence == "Apache-2.0"
    assert entries["flux1-dev"].licence == entries["flux1-fill-dev"].licence == "FLUX.1 [dev] Non-Commercial License"
    assert all(entries[k].licence == "Stability AI Community License" for k in wanted if k.startswith("sd35"))
    assert entries["flux1-fill-dev"].inpainting and not entries["flux1-dev"].inpainting
    assert entries["taesd3"].family is Family.SD3 and entries["taef1"].family is Family.FLUX
