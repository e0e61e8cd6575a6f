"""Upscaler files: the app's folder and linked A1111 / ComfyUI folders, import, and catalog downloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_sd.core.errors import DownloadError, ModelError
from desktop_sd.models import upscalers
from desktop_sd.models.upscalers import CatalogUpscaler
from tests.models.fakehub import FakeHub


def _file(path: Path, data: bytes = b"weights") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_upscalers_are_listed_from_the_app_and_linked_folders(tmp_path: Path) -> None:
    own = _file(upscalers.upscalers_dir() / "4x-Mine.safetensors")
    a1111 = tmp_path / "webui"
    comfy = tmp_path / "ComfyUI"
    _file(a1111 / "models" / "ESRGAN" / "4x-UltraSharp.pth")
    _file(a1111 / "models" / "RealESRGAN" / "RealESRGAN_x4plus.pth")
    _file(comfy / "models" / "upscale_models" / "4x-mine.pth")  # same name as the app's own: the app's wins
    _file(comfy / "models" / "upscale_models" / "notes.txt")
    found = upscalers.list_upscalers([a1111, comfy])
    assert [(u.name, u.linked) for u in found] == [
        ("4x-Mine", False),
        ("4x-UltraSharp", True),
        ("RealESRGAN_x4plus", True),
    ]
    assert upscalers.find_upscaler("4x-ultrasharp", [a1111]) == a1111 / "models" / "ESRGAN" / "4x-UltraSharp.pth"
    assert upscalers.find_upscaler("4x-Mine.safetensors", [a1111, comfy]) == own
    with pytest.raises(ModelError, match=r"No upscaler named 'R-ESRGAN 4x\+'.*Import or download one in Models"):
        upscalers.find_upscaler("R-ESRGAN 4x+", [a1111])


def test_import_copies_into_the_app_folder_and_refuses_other_files(tmp_path: Path) -> None:
    source = _file(tmp_path / "4x_NMKD.pth", b"abc")
    imported = upscalers.import_upscaler(source)
    assert imported.path == upscalers.upscalers_dir() / "4x_NMKD.pth" and imported.path.read_bytes() == b"abc"
    assert source.exists()
    with pytest.raises(ModelError, match="already installed"):
        upscalers.import_upscaler(source)
    with pytest.raises(ModelError, match=r"\.pth or \.safetensors"):
        upscalers.import_upscaler(_file(tmp_path / "model.ckpt"))


def test_the_catalog_offers_real_esrgan_with_its_licence() -> None:
    entries = {e.id: e for e in upscalers.load_upscaler_catalog()}
    for entry_id in ("realesrgan-x4plus", "realesrgan-x4plus-anime"):
        entry = entries[entry_id]
        assert entry.licence == "BSD-3-Clause" and entry.scale == 4
        assert entry.url.startswith("https://github.com/xinntao/Real-ESRGAN/releases/download/")
        assert entry.url.endswith("/" + entry.file)


def test_a_catalog_upscaler_downloads_into_the_app_folder(fake_hub: FakeHub) -> None:
    data = b"\x00upscaler" * 5000
    url = fake_hub.add_url("RealESRGAN_x4plus.pth", data)
    entry = CatalogUpscaler(
        "x4", "Real-ESRGAN x4plus", url, "RealESRGAN_x4plus.pth", 4, len(data), "BSD-3-Clause", "", ""
    )
    got = upscalers.download_upscaler(entry)
    assert got.path == upscalers.upscalers_dir() / "RealESRGAN_x4plus.pth" and got.path.read_bytes() == data
    assert [u.name for u in upscalers.list_upscalers()] == ["RealESRGAN_x4plus"]
    bad = CatalogUpscaler("y", "Other", fake_hub.add_url("other.pth", data), "other.pth", 4, 1, "", "", "", "0" * 64)
    with pytest.raises(DownloadError):
        upscalers.download_upscaler(bad)
    assert not (upscalers.upscalers_dir() / "other.pth").exists()
