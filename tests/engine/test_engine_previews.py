"""Progress: a callback every step, cheap previews, TAESD when it is installed locally."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import AutoencoderTiny
from PIL import Image

from desktop_sd.core.request import Family, GenerationRequest
from desktop_sd.engine import Engine, previews
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import run


def test_every_step_reports_with_a_preview_at_the_image_size(tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model, device="cpu", preview_interval_s=0.0)
    steps: list = []
    run(engine, tiny_request.replace(steps=4, width=64, height=72), steps)
    assert [(s, t) for s, t, _ in steps] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert all(isinstance(p, Image.Image) and p.size == (64, 72) and p.mode == "RGB" for _, _, p in steps)


def test_previews_are_throttled_but_the_last_step_has_one(tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model, device="cpu", preview_interval_s=3600.0)
    steps: list = []
    run(engine, tiny_request.replace(steps=4), steps)
    assert [p is not None for _, _, p in steps] == [True, False, False, True]


def test_linear_preview_maps_latent_colours() -> None:
    latents = torch.zeros(1, 4, 2, 2)
    latents[0, 0] = 1.0  # the first latent channel reads as warm, bright
    image = previews.linear_preview(latents, xl=False)
    r, g, b = np.asarray(image)[0, 0]
    assert image.size == (2, 2) and r > 127 and g > 127 and b > 127
    xl = previews.linear_preview(torch.zeros(1, 4, 2, 2), xl=True)
    assert tuple(np.asarray(xl)[0, 0]) != (127, 127, 127)  # SDXL's factors carry a bias


def random_taesd(folder) -> None:
    torch.manual_seed(0)
    AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1),
        num_decoder_blocks=(1, 1, 1, 1),
    ).save_pretrained(folder)


@pytest.fixture
def taesd_spy(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    used = threading.Event()
    real = previews.taesd_preview

    def spy(model, latents):
        used.set()
        image = real(model, latents)
        assert image.size == (64, 64)  # decoded at full size, not 1/8
        return image

    monkeypatch.setattr(previews, "taesd_preview", spy)
    return used


def test_taesd_is_used_when_installed_locally(tiny_request: GenerationRequest, taesd_spy: threading.Event) -> None:
    random_taesd(previews.taesd_folder(xl=False))
    steps: list = []
    run(Engine(resolve=resolve_model, device="cpu", preview_interval_s=0.0), tiny_request, steps)
    assert taesd_spy.is_set()
    assert all(p is not None for _, _, p in steps)


def test_taesd_found_by_the_registry(
    tiny_request: GenerationRequest, taesd_spy: threading.Event, tmp_path: Path
) -> None:
    random_taesd(tmp_path / "hub-snapshot")
    asked: list[Family] = []

    def find_taesd(family: Family) -> Path | None:
        asked.append(family)
        return tmp_path / "hub-snapshot"

    run(Engine(resolve=resolve_model, device="cpu", find_taesd=find_taesd), tiny_request)
    assert asked == [Family.SD1] and taesd_spy.is_set()


def test_broken_taesd_falls_back_to_the_linear_preview(tiny_request: GenerationRequest) -> None:
    folder = previews.taesd_folder(xl=False)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{broken")
    steps: list = []
    run(Engine(resolve=resolve_model, device="cpu"), tiny_request, steps)
    assert steps[-1][2] is not None
