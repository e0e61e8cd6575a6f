"""LoRAs and VAEs on the command line: ``generate --lora/--vae`` and ``models list/import/remove``."""

from __future__ import annotations

from pathlib import Path

import pytest
from diffusers import StableDiffusionPipeline
from PIL import Image

from desktop_sd.cli import main
from desktop_sd.core import paths
from desktop_sd.engine.random_loras import save_kohya_lora
from desktop_sd.library.metadata import A1111_CHUNK
from tests.models import addon_files


def generate(model: Path, out: Path, *extra: str) -> int:
    args = ["generate", "--model", str(model), "--prompt", "a fox", "--width", "64", "--height", "64"]
    return main([*args, "--steps", "2", "--seed", "9", "--no-history", "--out", str(out), *extra])


def test_generate_with_lora_options_writes_lora_hashes(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    save_kohya_lora(pipe, paths.models_dir() / "loras" / "fox-style.safetensors", seed=2)
    assert generate(tiny_model_dir, tmp_path / "lora.png", "--lora", "fox-style:0.9") == 0, capsys.readouterr().err
    with Image.open(tmp_path / "lora.png") as image:
        text = image.info[A1111_CHUNK]
        assert text.splitlines()[0] == "a fox <lora:fox-style:0.9>"
        assert 'Lora hashes: "fox-style: ' in text
    capsys.readouterr()
    assert generate(tiny_model_dir, tmp_path / "x.png", "--lora", "fox-style:strong") == 2
    assert "--lora: the LoRA weight in 'fox-style:strong' is not a number" in capsys.readouterr().err
    assert generate(tiny_model_dir, tmp_path / "y.png", "--vae", "missing-vae") == 2
    assert "No VAE named 'missing-vae' is installed" in capsys.readouterr().err


def test_models_list_import_and_remove_add_ons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    addon_files.kohya_lora(tmp_path / "detail.safetensors", "sdxl", tags={"sharp": 2})
    addon_files.embedding(tmp_path / "neg.safetensors")
    assert main(["models", "import", str(tmp_path / "detail.safetensors")]) == 0
    assert main(["models", "import", str(tmp_path / "neg.safetensors")]) == 0
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["lora:detail", "embedding:neg"]
    assert "SDXL" in lines[0] and "triggers: sharp" in lines[0]
    assert main(["models", "remove", "lora:detail"]) == 0
    assert not (paths.models_dir() / "loras" / "detail.safetensors").exists()
