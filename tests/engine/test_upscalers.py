"""Upscaler models through spandrel: detection from the file, safe loading, tiles without seams, cancel."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from desktop_sd.core.errors import Cancelled, ModelError
from desktop_sd.engine import tiling
from desktop_sd.engine.device import pick_device
from desktop_sd.engine.random_upscalers import save_tiny_upscaler
from desktop_sd.engine.upscalers import UpscalerCache, load_upscaler, run_tiled, upscale_with_model
from tests.engine.helpers import gradient, max_diff, pixels

CPU = pick_device("cpu")


def noisy(size: tuple[int, int]) -> object:
    from PIL import Image

    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


@pytest.mark.parametrize(
    ("name", "kind", "scale", "architecture"),
    [
        ("x2.pth", "esrgan", 2, "ESRGAN"),
        ("x2.safetensors", "esrgan", 2, "ESRGAN"),
        ("x4-compact.pth", "compact", 4, "RealESRGAN Compact"),
    ],
)
def test_architecture_and_scale_come_from_the_file(tmp_path: Path, name, kind, scale, architecture) -> None:
    model = load_upscaler(save_tiny_upscaler(tmp_path / name, kind, scale))
    assert model.architecture.name == architecture
    assert model.scale == scale
    out = run_tiled(model, gradient((24, 16)), CPU, threading.Event())
    assert out.size == (24 * scale, 16 * scale)


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what a malicious pickle does: call a function while loading
        return (Path.touch, (self.marker,))


def test_a_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    torch.save({"conv_first.weight": torch.zeros(1), "hook": _RunsCode(marker)}, tmp_path / "evil.pth")
    with pytest.raises(ModelError, match="refused: it asks to run code") as info:
        load_upscaler(tmp_path / "evil.pth")
    assert ".safetensors" in str(info.value)
    assert not marker.exists()


def test_files_that_are_not_upscalers_are_refused_clearly(tmp_path: Path) -> None:
    save_file({"some.weight": torch.zeros(3, 3)}, str(tmp_path / "lora.safetensors"))
    with pytest.raises(ModelError, match="not an upscaler architecture"):
        load_upscaler(tmp_path / "lora.safetensors")
    (tmp_path / "broken.pth").write_bytes(b"not a pickle at all")
    with pytest.raises(ModelError, match="not a readable upscaler file"):
        load_upscaler(tmp_path / "broken.pth")
    torch.save({"x": torch.zeros(1)}, tmp_path / "script.pt")
    with pytest.raises(ModelError, match=r"\.pth or \.safetensors"):
        load_upscaler(tmp_path / "script.pt")


def test_tiles_match_the_whole_image_without_seams(tmp_path: Path) -> None:
    model = load_upscaler(save_tiny_upscaler(tmp_path / "x2.pth"))
    image = noisy((100, 70))
    whole = run_tiled(model, image, CPU, threading.Event(), tile=512)
    done: list[tuple[int, int]] = []
    tiled = run_tiled(model, image, CPU, threading.Event(), lambda k, n: done.append((k, n)), tile=40, overlap=16)
    assert tiled.size == whole.size == (200, 140)
    difference = np.abs(pixels(whole) - pixels(tiled))
    assert difference.max() <= 4 and difference.mean() < 0.2  # a convolution's reach past the overlap, no more
    assert done == [(k, 6) for k in range(1, 7)]  # 3 x 2 tiles (the overlap kept under a quarter tile), each reported


def test_cancel_stops_between_tiles(tmp_path: Path) -> None:
    model = load_upscaler(save_tiny_upscaler(tmp_path / "x2.pth"))
    cancelled = threading.Event()
    done: list[int] = []

    def on_tile(k: int, n: int) -> None:
        done.append(k)
        if k == 2:
            cancelled.set()

    with pytest.raises(Cancelled):
        run_tiled(model, noisy((100, 70)), CPU, cancelled, on_tile, tile=40, overlap=8)
    assert done == [1, 2]


def test_any_factor_runs_the_model_then_fits_the_size(tmp_path: Path) -> None:
    model = load_upscaler(save_tiny_upscaler(tmp_path / "x2.pth"))
    out = upscale_with_model(model, gradient((30, 20)), 3.0, CPU, threading.Event())
    assert out.size == (90, 60)


def test_the_cache_reloads_a_file_that_changed(tmp_path: Path) -> None:
    cache = UpscalerCache()
    path = save_tiny_upscaler(tmp_path / "u.pth", scale=2)
    first = cache.get(path)
    assert cache.get(path) is first
    save_tiny_upscaler(path, "compact", scale=4)
    assert cache.get(path).scale == 4


def test_identical_tiles_blend_back_to_the_input() -> None:
    rng = np.random.default_rng(0)
    source = torch.from_numpy(rng.random((3, 70, 100), dtype=np.float32))
    blender = tiling.Blender(3, 100, 70, overlap=12)
    parts = tiling.tiles(100, 70, 32, 12)
    for part in parts:
        blender.add(part, source[:, part.top : part.top + part.height, part.left : part.left + part.width])
    assert torch.allclose(blender.result(), source, atol=1e-6)
    covered = torch.zeros(70, 100)
    for part in parts:
        assert part.width == part.height == 32
        covered[part.top : part.top + part.height, part.left : part.left + part.width] = 1
    assert bool(covered.all())


def test_different_tiles_meet_without_a_step() -> None:
    """Two flat tiles of different values: across the overlap the blend moves in small, even steps."""
    blender = tiling.Blender(1, 48, 32, overlap=16)
    left, right = tiling.tiles(48, 32, 32, 16)
    blender.add(left, torch.zeros(1, 32, 32))
    blender.add(right, torch.ones(1, 32, 32))
    row = blender.result()[0, 0]
    assert float(row[:16].max()) == 0.0 and float(row[32:].min()) == 1.0
    assert float(row.diff().max()) <= 1 / 16 + 1e-6


def test_max_diff_helper_sees_identical_images() -> None:
    assert max_diff(gradient(), gradient()) == 0
