"""``desktop-sd servers ...`` and ``generate --server`` against a stand-in ComfyUI server (in-process:
the in-memory keyring of the test session holds the tokens)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from desktop_sd.cli import main
from desktop_sd.core.settings import Settings
from desktop_sd.library.metadata import A1111_CHUNK, JSON_CHUNK, read_parameters
from desktop_sd.library.store import Library
from tests.memory_keyring import MemoryKeyring
from tests.remote.comfy_standin import ComfyStandIn


@pytest.fixture
def standin() -> Iterator[ComfyStandIn]:
    with ComfyStandIn() as server:
        yield server


def test_add_list_test_and_remove_a_server(
    standin: ComfyStandIn,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
) -> None:
    standin.required_token = "tok-42"
    monkeypatch.setattr("sys.stdin", io.StringIO("tok-42\n"))
    assert main(["servers", "add", "box", standin.url, "--token-stdin"]) == 0
    assert main(["servers", "list"]) == 0
    assert main(["servers", "test", "box"]) == 0
    out = capsys.readouterr()
    assert f"box\t{standin.url} (token in keyring)" in out.out
    assert "box: ComfyUI v0.2.3-standin" in out.out and "  sd15.safetensors" in out.out
    assert "tok-42" not in out.out + out.err
    assert "tok-42" not in Settings.load().path.read_text()

    assert main(["servers", "remove", "box"]) == 0
    assert Settings.load().servers == {} and memory_keyring.passwords == {}
    assert main(["servers", "test", "box"]) == 1
    assert "No server named 'box'" in capsys.readouterr().err


def test_offline_mode_blocks_another_machine_and_plain_http_warns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTOP_SD_OFFLINE", "1")
    assert main(["servers", "add", "far", "http://192.0.2.10:8188"]) == 0
    assert "plain http" in capsys.readouterr().err
    assert main(["servers", "test", "far"]) == 1
    assert "Offline mode is on" in capsys.readouterr().err


def test_generate_on_a_server_saves_the_graph_and_the_server_name(
    standin: ComfyStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "boat.png"
    code = main(
        ["generate", "--server", standin.url, "--model", "sd15", "--prompt", "a boat", "--width", "64",
         "--height", "64", "--steps", "2", "--seed", "77", "--batch", "2", "--out", str(out)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"on server {standin.url}" in err and "step 4/4" in err
    second = tmp_path / "boat-2.png"
    with Image.open(second) as image:
        chunks = dict(image.text)  # type: ignore[attr-defined]
    graph = json.loads(chunks["prompt"])
    assert graph["8"]["inputs"]["seed"] == 78 and graph["1"]["inputs"]["ckpt_name"] == "sd15.safetensors"
    assert json.loads(chunks[JSON_CHUNK])["server"] == standin.url
    parsed = read_parameters(second)
    assert parsed is not None and parsed.seed == 78 and parsed.prompt == "a boat"
    assert f'Server: "{standin.url}"' in chunks[A1111_CHUNK]  # quoted: it holds a colon
    with Library.open(None, reconcile=False) as library:  # the history keeps the same as the file written
        saved = sorted(library.search(""), key=lambda r: r.seed or 0)
    assert [r.seed for r in saved] == [77, 78] and saved[1].parameters["server"] == standin.url
    with Image.open(saved[1].path) as image:
        kept = dict(image.text)  # type: ignore[attr-defined]
    assert kept["prompt"] == chunks["prompt"] and f'Server: "{standin.url}"' in kept[A1111_CHUNK]


def test_generate_reports_node_errors_as_one_line(
    standin: ComfyStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    standin.fail_prompt = "node_errors"
    code = main(["generate", "--server", standin.url, "--model", "sd15", "--prompt", "x", "--out", str(tmp_path / "x")])
    assert code == 1
    assert "KSampler (node 8): Value 0 smaller than min of 1: steps" in capsys.readouterr().err
