"""``desktop-sd upscale`` and the hires options of ``desktop-sd generate``, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from desktop_sd.cli import main
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.engine.random_upscalers import save_tiny_upscaler
from desktop_sd.library.metadata import A1111_CHUNK, JSON_CHUNK, encode_png, read_parameters

torch.set_num_threads(1)


def _source(path: Path) -> Path:
    image = Image.linear_gradient("L").convert("RGB").resize((48, 40))
    request = GenerationRequest(Mode.TXT2IMG, "a lighthouse", model="m", width=48, height=40, seed=9)
    path.write_bytes(encode_png(image, request, "m"))
    return path


def test_upscale_writes_the_larger_image_with_postprocessing_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = save_tiny_upscaler(tmp_path / "tiny-x2.pth")
    out = tmp_path / "big.png"
    assert (
        main(["upscale", "--model", str(model), str(_source(tmp_path / "in.png")), "--out", str(out), "--scale", "3"])
        == 0
    )
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert "tile 1/1" in captured.err and "done: 144x120 (3x)" in captured.err
    with Image.open(out) as image:
        assert image.size == (144, 120)
        assert image.info["postprocessing"] == "Postprocess upscale by: 3, Postprocess upscaler: " + str(model)
        assert image.info[A1111_CHUNK].startswith("a lighthouse\n")  # the source's parameters are kept
        assert json.loads(image.info[JSON_CHUNK])["request"]["seed"] == 9


def test_upscale_refuses_bad_input_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = str(_source(tmp_path / "in.png"))
    assert main(["upscale", "--model", "Lanczos", source, "--out", str(tmp_path / "o.png"), "--scale", "20"]) == 2
    assert capsys.readouterr().err.startswith("error: Upscale factor must be between 1 and 8")
    torch.save({"x": torch.zeros(1), "f": print}, tmp_path / "evil.pth")
    assert main(["upscale", "--model", str(tmp_path / "evil.pth"), source, "--out", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: evil.pth was refused: it asks to run code") and err.count("\n") == 1
    assert not (tmp_path / "o.png").exists()


def test_upscale_with_a_tiled_refine(tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "refined.png"
    args = ["upscale", "--model", "Lanczos", str(_source(tmp_path / "in.png")), "--out", str(out), "--scale", "2"]
    args += ["--refine", str(tiny_model_dir), "--prompt", "a lighthouse, detailed", "--steps", "2", "--seed", "3"]
    args += ["--strength", "0.5", "--tile", "64", "--tile-overlap", "16", "--device", "cpu"]
    assert main(args) == 0
    assert "tile 4/4" in capsys.readouterr().err
    with Image.open(out) as image:
        assert image.size == (96, 80)
        assert "Tiled refine tiles: 4" in image.info["postprocessing"]
        assert "Size: 96x80" in image.info[A1111_CHUNK]  # the refined image, not one 64 px tile
    parsed = read_parameters(out)
    assert parsed is not None and parsed.prompt == "a lighthouse, detailed" and parsed.seed == 3
    assert (parsed.to_request().width, parsed.to_request().height) == (96, 80)


def test_generate_with_the_hires_options(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hires.png"
    args = ["generate", "--model", str(tiny_model_dir), "--prompt", "a fox", "--width", "64", "--height", "64"]
    args += ["--steps", "2", "--seed", "1", "--device", "cpu", "--out", str(out), "--no-history"]
    args += ["--hires-scale", "1.5", "--hires-steps", "2", "--hires-strength", "0.6", "--hires-upscaler", "Lanczos"]
    assert main(args) == 0, capsys.readouterr().err
    with Image.open(out) as image:
        assert image.size == (96, 96)
        parameters = image.info[A1111_CHUNK]
    assert "Size: 64x64" in parameters
    assert "Denoising strength: 0.6, Hires upscale: 1.5, Hires steps: 2, Hires upscaler: Lanczos" in parameters
    parsed = read_parameters(out)
    assert parsed is not None
    request = parsed.to_request()
    assert (request.hires_scale, request.hires_steps, request.hires_strength, request.hires_upscaler) == (
        1.5,
        2,
        0.6,
        "Lanczos",
    )


def test_models_upscalers_lists_imports_and_shows_the_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "upscalers", "list"]) == 0
    assert "No upscalers installed" in capsys.readouterr().err
    source = save_tiny_upscaler(tmp_path / "4x-Tiny.safetensors")
    assert main(["models", "upscalers", "import", str(source)]) == 0
    assert capsys.readouterr().out.startswith("4x-Tiny  installed")
    assert main(["models", "upscalers", "list"]) == 0
    assert capsys.readouterr().out.startswith("4x-Tiny  installed")
    assert main(["models", "upscalers", "catalog"]) == 0
    out = capsys.readouterr().out
    assert "realesrgan-x4plus " in out and "realesrgan-x4plus-anime" in out and "[BSD-3-Clause]" in out
    assert main(["models", "upscalers", "download", "nope"]) == 1
    assert "No upscaler 'nope' in the catalog" in capsys.readouterr().err
    assert main(["models", "upscalers", "import", str(tmp_path / "x.ckpt")]) == 1
