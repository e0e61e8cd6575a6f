"""``desktop-sd library``: import, search, show and check from a script."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from desktop_sd.cli import main
from desktop_sd.library.store import Library
from tests.library import samples
from tests.library.helpers import make_image, make_request


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    (folder / "nested").mkdir(parents=True)
    samples.png(folder / "a1111.png", {"parameters": samples.A1111_TEXT})
    samples.comfy_png(folder / "nested" / "comfy.png")
    (folder / "notes.png").write_bytes(b"not an image")
    return folder


def test_import_reports_on_stdout_and_progress_on_stderr(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "lib"
    assert main(["library", "--library", str(library), "import", str(images)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "imported 2, already in the history 0, skipped 1"
    assert f"skipped: {images / 'notes.png'}: " in out and "3/3" in err
    assert main(["library", "--library", str(library), "import", str(images / "a1111.png")]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        f"already in the history: {images / 'a1111.png'}",
        "imported 0, already in the history 1, skipped 0",
    ]


def test_search_lists_one_line_or_one_json_object_per_image(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "lib"
    main(["library", "--library", str(library), "import", str(images)])
    with Library.open(library) as opened:
        opened.add(make_image(), make_request(prompt="a fox\non two lines", seed=2**64 - 1), "tiny-sd")
    capsys.readouterr()
    assert main(["library", "--library", str(library), "search", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3 and set(rows[0]) == {"path", "prompt", "seed", "model"}
    assert rows[0]["seed"] == 2**64 - 1 and rows[0]["model"] == "tiny-sd" and Path(rows[0]["path"]).is_file()
    assert main(["library", "--library", str(library), "search", "lighthouse"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    path, prompt, seed, model = line.split("\t")
    assert Path(path).is_file()
    assert prompt.startswith("masterpiece, a lighthouse") and seed == "3141592653" and model == "dreamshaper_8"
    assert main(["library", "--library", str(library), "search", "fox"]) == 0
    assert capsys.readouterr().out.split("\t")[1] == "a fox on two lines"


def test_show_prints_the_parsed_parameters(images: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["library", "show", str(images / "nested" / "comfy.png"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["source"], data["seed"], data["scheduler"]) == ("ComfyUI", 156680208700286, "dpmpp_2m_karras")
    assert main(["library", "show", str(images / "a1111.png")]) == 0
    assert "seed: 3141592653" in capsys.readouterr().out.splitlines()
    assert main(["library", "show", str(images / "notes.png")]) == 1


def test_check_finds_missing_damaged_and_unrecorded_files(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "lib"
    main(["library", "--library", str(library), "import", str(images)])
    capsys.readouterr()
    assert main(["library", "--library", str(library), "check"]) == 0
    assert capsys.readouterr().err.strip() == "checked 2 images: ok"
    with Library.open(library) as opened:
        first, second = sorted(opened.search(), key=lambda r: r.id)
    first.path.unlink()
    second.path.write_bytes(second.path.read_bytes()[:-30])
    shutil.copy(images / "a1111.png", library / "stray.png")
    assert main(["library", "--library", str(library), "check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"missing: {first.path}",
        f"damaged: {second.path}: it is damaged or truncated (the file ends before its image does)",
        f"not in the history: {library / 'stray.png'}",
    ]
