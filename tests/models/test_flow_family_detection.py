"""SD 3 and Flux.1 told from their files, the flow-matching scheduler list, and their catalog entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, ModelFormat
from desktop_sd.core.schedulers import SCHEDULER_IDS, scheduler_ids_for
from desktop_sd.models.catalog import load_catalog
from desktop_sd.models.inspection import detect
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


@pytest.mark.parametrize(
    ("keys", "family", "fill"),
    [(SD3_KEYS, Family.SD3, False), (FLUX_KEYS, Family.FLUX, False), (FLUX_FILL_KEYS, Family.FLUX, True)],
)
def test_single_files_are_told_apart_by_their_keys(
    tmp_path: Path, keys: dict[str, tuple[int, ...]], family: Family, fill: bool
) -> None:
    path = _checkpoint(tmp_path / "model.safetensors", keys)  # the name says nothing
    info = detect(path)
    assert (info.family, info.inpainting, info.kind) == (family, fill, "checkpoint")
    ref = resolve_model(str(path))
    assert (ref.format, ref.family, ref.inpainting) == (ModelFormat.SINGLE_FILE, family, fill)
    assert [found.family for found in find_models(tmp_path)] == [family]


def test_a_single_file_flow_model_is_refused_with_what_to_do(tmp_path: Path) -> None:
    import torch

    from desktop_sd.engine import loading

    ref = resolve_model(str(_checkpoint(tmp_path / "sd3.5_medium.safetensors", SD3_KEYS)))
    with pytest.raises(ModelError, match=r"single-file SD 3 checkpoint.*diffusers folder.*Models > Download"):
        loading.plan_model(ref, torch.float32)


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
