"""``desktop-sd generate`` reads A1111's prompt syntax, finds embeddings and takes --clip-skip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

from desktop_sd.cli import main
from desktop_sd.library.metadata import A1111_CHUNK
from desktop_sd.models.embeddings import embeddings_dir


def generate(model: Path, out: Path, prompt: str, *extra: str) -> tuple[np.ndarray, str]:
    args = ["generate", "--model", str(model), "--prompt", prompt, "--width", "64", "--height", "64"]
    code = main([*args, "--steps", "2", "--seed", "7", "--no-history", "--out", str(out), *extra])
    assert code == 0
    with Image.open(out) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16), image.info[A1111_CHUNK]


def test_weights_clip_skip_and_embeddings_on_the_command_line(tiny_model_dir: Path, tmp_path: Path) -> None:
    base, _ = generate(tiny_model_dir, tmp_path / "a.png", "a red fox")
    weighted, _ = generate(tiny_model_dir, tmp_path / "b.png", "a (red fox:1.8)")
    literal, _ = generate(tiny_model_dir, tmp_path / "c.png", "a (red fox:1.8)", "--plain-prompt")
    assert np.abs(base - weighted).max() > 2 and np.abs(weighted - literal).max() > 2
    skipped, text = generate(tiny_model_dir, tmp_path / "d.png", "a red fox", "--clip-skip", "2")
    assert np.abs(base - skipped).max() > 2 and "Clip skip: 2" in text.splitlines()[-1]
    before, text = generate(tiny_model_dir, tmp_path / "e.png", "a red fox, foxstyle")
    assert "TI hashes" not in text  # not installed: a plain word
    embeddings_dir().mkdir(parents=True)
    torch.manual_seed(0)
    save_file({"emb_params": torch.randn(2, 32) * 3}, str(embeddings_dir() / "foxstyle.safetensors"))
    styled, text = generate(tiny_model_dir, tmp_path / "f.png", "a red fox, foxstyle")
    assert 'TI hashes: "foxstyle: ' in text and np.abs(before - styled).max() > 2
