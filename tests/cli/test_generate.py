"""``desktop-sd generate`` end to end: PNGs with metadata, modes from the arguments, errors as one line."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop_sd.cli import build_parser, main
from desktop_sd.cli.generate import build_request
from desktop_sd.core.params import NUMBER_PARAMS, SCHEDULER, STRENGTH, NumberParam, number_text
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.library.metadata import A1111_CHUNK, JSON_CHUNK

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESKTOP_SD_HOME": str(home), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "desktop_sd", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_generate_in_a_subprocess_writes_a_png_with_metadata(
    tiny_model_dir: Path, tmp_path: Path, isolated_home: Path
) -> None:
    out = tmp_path / "out" / "fox.png"
    result = cli(
        "generate",
        "--model",
        str(tiny_model_dir),
        "--prompt",
        "a fox, 🦊 in snow",
        "--negative",
        "blurry",
        "--width",
        "64",
        "--height",
        "64",
        "--steps",
        "2",
        "--seed",
        "1234",
        "--scheduler",
        "euler_a",
        "--out",
        str(out),
        home=isolated_home,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert "step 1/2" in result.stderr and "step 2/2" in result.stderr
    assert "Traceback" not in result.stderr
    with Image.open(out) as image:
        assert image.size == (64, 64)
        parameters, data = image.info[A1111_CHUNK], json.loads(image.info[JSON_CHUNK])
    assert parameters.startswith("a fox, 🦊 in snow\nNegative prompt: blurry\n")
    assert "Steps: 2, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 1234, Size: 64x64" in parameters
    assert data["request"]["seed"] == 1234 and data["request"]["scheduler"] == "euler_a"
    assert [p.name for p in out.parent.iterdir()] == ["fox.png"]  # no temp file left behind


def test_bad_input_exits_2_with_one_line(tmp_path: Path, isolated_home: Path) -> None:
    result = cli("generate", "--model", "x", "--prompt", "p", "--width", "16385", home=isolated_home)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: Width 16385 is out of range: choose 64 to 4096 pixels."


def test_missing_model_exits_1_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["generate", "--model", str(tmp_path / "nope"), "--prompt", "p", "--width", "64", "--height", "64"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: Model ") and "not found" in err[0]


def write_image(path: Path, size: tuple[int, int], mode: str = "RGB") -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).convert(mode).save(path)
    return path


def test_img2img_keeps_the_init_size(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    init = write_image(tmp_path / "init.png", (72, 64))
    out = tmp_path / "out.png"
    code = main(
        [
            "generate",
            "--model",
            str(tiny_model_dir),
            "--prompt",
            "p",
            "--init-image",
            str(init),
            "--strength",
            "0.5",
            "--steps",
            "2",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    with Image.open(out) as image:
        assert image.size == (72, 64)
        assert "Denoising strength: 0.5" in image.info[A1111_CHUNK]


def test_inpaint_changes_only_the_masked_area(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    init = write_image(tmp_path / "init.png", (64, 64))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 24, 24))
    mask.save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    code = main(
        [
            "generate",
            "--model",
            str(tiny_model_dir),
            "--prompt",
            "p",
            "--init-image",
            str(init),
            "--mask",
            str(tmp_path / "mask.png"),
            "--feather",
            "0",
            "--steps",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    before, after = np.asarray(Image.open(init)), np.asarray(Image.open(out))
    assert (before[24:, :] == after[24:, :]).all() and (before[:, 24:] == after[:, 24:]).all()
    assert json.loads(Image.open(out).info[JSON_CHUNK])["request"]["mode"] == "inpaint"


def test_outpaint_batch_grows_the_image_and_numbers_the_files(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    init = write_image(tmp_path / "init.png", (48, 64))
    code = main(
        [
            "generate",
            "--model",
            str(tiny_model_dir),
            "--prompt",
            "p",
            "--init-image",
            str(init),
            "--outpaint",
            "8,0,8,0",
            "--steps",
            "2",
            "--seed",
            "10",
            "--batch",
            "2",
            "--out",
            str(tmp_path / "wide.png"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    paths = [Path(line) for line in captured.out.split()]
    assert [p.name for p in paths] == ["wide-1.png", "wide-2.png"]
    seeds = []
    for path in paths:
        with Image.open(path) as image:
            assert image.size == (64, 64)
            seeds.append(json.loads(image.info[JSON_CHUNK])["request"]["seed"])
    assert seeds == [10, 11]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mask", "m.png"], "--mask needs --init-image"),
        (["--outpaint", "8,8,8,8"], "--outpaint needs --init-image"),
        (["--init-image", "INIT", "--outpaint", "8,8"], "four numbers"),
        (["--init-image", "INIT", "--outpaint", "8,-8,0,0"], "none negative"),
        (["--init-image", "missing.png"], "Image not found"),
        (["--scheduler", "nope", "--width", "64", "--height", "64"], "Unknown scheduler"),
        (["--device", "quantum", "--width", "64", "--height", "64"], "Unknown device"),
    ],
)
def test_argument_problems_exit_2(
    tiny_model_dir: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    init = str(write_image(tmp_path / "init.png", (64, 64)))
    args = [init if a == "INIT" else a for a in args]
    code = main(["generate", "--model", str(tiny_model_dir), "--prompt", "p", "--steps", "1", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: ") and message in err[-1]


def parse(*args: str) -> argparse.Namespace:
    return build_parser().parse_args(["generate", "--model", "m", "--prompt", "p", *args])


def test_left_out_options_make_the_table_defaults() -> None:
    request, _ = build_request(parse())
    assert request.parameters() == GenerationRequest(Mode.TXT2IMG, "p", model="m").parameters()
    assert parse().scheduler == SCHEDULER.default


@pytest.mark.parametrize("spec", NUMBER_PARAMS.values(), ids=lambda s: s.name)
def test_each_number_option_takes_the_table_type_and_states_its_range(
    spec: NumberParam[int] | NumberParam[float], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    request, _ = build_request(parse(spec.flag, number_text(spec.maximum)))
    value = getattr(request, spec.name)
    assert value == spec.maximum and type(value) is type(spec.default)
    monkeypatch.setenv("COLUMNS", "500")  # one line per option
    with pytest.raises(SystemExit):
        parse("--help")
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(f"  {spec.flag} "))
    assert f"; {number_text(spec.minimum)}-{number_text(spec.maximum)}" in line


def test_outpainting_defaults_to_full_strength(tmp_path: Path) -> None:
    init = str(write_image(tmp_path / "init.png", (64, 64)))
    outpaint, _ = build_request(parse("--init-image", init, "--outpaint", "8,0,8,0"))
    assert (outpaint.mode, outpaint.strength) == (Mode.OUTPAINT, 1.0)
    given, _ = build_request(parse("--init-image", init, "--outpaint", "8,0,8,0", "--strength", "0.5"))
    assert given.strength == 0.5
    img2img, _ = build_request(parse("--init-image", init))
    assert (img2img.mode, img2img.strength) == (Mode.IMG2IMG, STRENGTH.default)


def test_damaged_init_image_exits_2(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    path = write_image(tmp_path / "init.png", (64, 64))
    path.write_bytes(path.read_bytes()[:200])
    code = main(["generate", "--model", str(tiny_model_dir), "--prompt", "p", "--init-image", str(path)])
    assert code == 2
    assert "damaged or truncated" in capsys.readouterr().err


def test_command_line_text_that_is_not_utf8_is_replaced_and_noted() -> None:
    raw = b"caf\xe9 au lait".decode("utf-8", "surrogateescape")  # what Python makes of $'caf\xe9' on POSIX
    args = parse("--negative", raw)
    args.prompt = raw
    request, notices = build_request(args)
    assert request.prompt == "caf\ufffd au lait" and request.negative_prompt == "caf\ufffd au lait"
    assert notices == [
        "--prompt is not valid UTF-8 text: the bytes that could not be read were replaced with \ufffd.",
        "--negative is not valid UTF-8 text: the bytes that could not be read were replaced with \ufffd.",
    ]
    request.prompt.encode("utf-8")  # the tokenizer and the PNG writer take it


def test_huge_outpaint_borders_exit_2_before_anything_is_allocated(tmp_path: Path, capsys) -> None:
    init = str(write_image(tmp_path / "init.png", (64, 64)))
    args = ["--init-image", init, "--outpaint", "6000,6000,6000,6000", "--width", "512", "--height", "512"]
    assert main(["generate", "--model", "m", "--prompt", "sea", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: The outpaint canvas would be 12064x12064")


def test_out_naming_an_existing_folder_writes_into_it(tmp_path: Path) -> None:
    from desktop_sd.cli.generate import output_paths

    (single,) = output_paths(tmp_path, 42, 1)
    assert single.parent == tmp_path and single.name.endswith("-42.png")
    batch = output_paths(tmp_path, 42, 2)
    assert [p.parent for p in batch] == [tmp_path, tmp_path] and batch[1].name.endswith("-42-2.png")


def test_out_under_a_file_says_which_part_is_a_file(tmp_path: Path, capsys) -> None:
    blocker = write_image(tmp_path / "file.png", (64, 64))
    code = main(["generate", "--model", "m", "--prompt", "p", "--out", str(blocker / "x.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"error: --out: {blocker} is a file, not a folder. Choose another --out."]


def _generate_args(model: Path, out: Path, *extra: str) -> list[str]:
    common = ["--prompt", "a quiet harbour", "--steps", "1", "--seed", "7", "--batch", "2", "--out", str(out)]
    return ["generate", "--model", str(model), *common, *extra]


def test_generate_also_saves_into_the_history(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    from desktop_sd.library.store import Library

    assert main(_generate_args(tiny_model_dir, tmp_path / "out.png")) == 0, capsys.readouterr().err
    with Library.open(reconcile=False) as library:
        records = library.search("harbour")
    assert sorted(r.seed for r in records) == [7, 8]
    assert all(r.path.is_file() and r.prompt == "a quiet harbour" and r.steps == 1 for r in records)


def test_generate_with_no_history_leaves_the_history_alone(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    from desktop_sd.library.store import Library

    library_dir = tmp_path / "history"
    skipped = _generate_args(tiny_model_dir, tmp_path / "out.png", "--no-history", "--library", str(library_dir))
    assert main(skipped) == 0
    assert not library_dir.exists()
    assert main(_generate_args(tiny_model_dir, tmp_path / "again.png", "--library", str(library_dir))) == 0
    with Library.open(library_dir, reconcile=False) as library:
        assert library.count() == 2


def test_a_history_that_cannot_be_written_is_a_note_and_the_images_stay(
    tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    out = tmp_path / "out.png"
    assert main(_generate_args(tiny_model_dir, out, "--library", str(blocker / "history"))) == 0
    err = capsys.readouterr().err
    assert "note: The images were not saved in the history" in err and "Traceback" not in err
    assert (tmp_path / "out-1.png").is_file() and (tmp_path / "out-2.png").is_file()
