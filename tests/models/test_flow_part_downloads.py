"""A Flux.1 transformer file alone on disk runs once its text encoders and VAE are downloaded from the
catalog (Models > Download: "Flux.1 text encoders", "FLUX.1 VAE"), through the fake Hub."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.engine import Engine
from desktop_sd.engine.random_flow_models import build_flux_shaped, shipped_configs, write_flux_split
from desktop_sd.models import install
from desktop_sd.models.catalog import find_entry
from desktop_sd.models.progress import Meter
from desktop_sd.models.registry import Registry
from desktop_sd.models.resolve import resolve_model
from tests.models.fakehub import FakeHub


def _install(target: str) -> None:
    install.install(install.parse_target(target), Registry(), Meter(lambda _: None, rate=1000.0), threading.Event())


def test_downloaded_text_encoders_and_vae_complete_a_flux_file(fake_hub: FakeHub, tmp_path: Path) -> None:
    pipe = build_flux_shaped(seed=12)
    transformer = write_flux_split(pipe, tmp_path / "split")  # the parts as the Hub repos hold them
    encoders, vae = tmp_path / "split" / "text_encoders", tmp_path / "split" / "vae"
    # the repo's file name; float32 inside, so that the picture can match plain diffusers'
    t5_fp8 = {"t5xxl_fp8_e4m3fn.safetensors": (encoders / "t5xxl_fp16.safetensors").read_bytes()}
    entry = find_entry("flux-text-encoders")
    assert entry is not None and entry.kind == "text_encoders" and "t5xxl_fp8_e4m3fn.safetensors" in entry.files
    fake_hub.add_repo(entry.repo_id, {"clip_l.safetensors": (encoders / "clip_l.safetensors").read_bytes(), **t5_fp8})
    fake_hub.add_repo("black-forest-labs/FLUX.1-schnell", {"ae.safetensors": (vae / "ae.safetensors").read_bytes()})
    alone = tmp_path / "Downloads" / "flux1-dev.safetensors"
    alone.parent.mkdir()
    transformer.rename(alone)

    with pytest.raises(ModelError, match=r"download the Flux\.1 text encoders and VAE .*Models > Download"):
        resolve_model(str(alone))
    _install("flux-text-encoders")
    _install("flux-vae")
    with pytest.raises(ModelError, match=r"set of text encoders, not a model that makes images"):
        resolve_model("flux-text-encoders")
    ref = resolve_model(str(alone))
    assert ref.config_dir == shipped_configs("flux")
    assert sorted(p.name for p in ref.parts) == ["ae.safetensors", "clip_l.safetensors", "t5xxl_fp8_e4m3fn.safetensors"]

    request = GenerationRequest(Mode.TXT2IMG, "a red fox", model=str(alone), width=64, height=64, steps=2, seed=3)
    result = Engine(resolve=resolve_model, device="cpu").generate(request, lambda *_: None, threading.Event())
    pipe.set_progress_bar_config(disable=True)
    expected = pipe(
        "a red fox", width=64, height=64, num_inference_steps=2, guidance_scale=request.cfg_scale,
        generator=torch.Generator("cpu").manual_seed(3),
    ).images[0]  # fmt: skip
    diff = (torch.tensor(list(result.images[0].getdata())) - torch.tensor(list(expected.getdata()))).abs().max()
    assert int(diff) <= 1
