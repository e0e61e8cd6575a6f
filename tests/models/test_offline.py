"""Installed models resolve and generate with networking impossible and without HF_HUB_OFFLINE set."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_sd.core import paths
from desktop_sd.models.importer import import_path
from desktop_sd.models.registry import Registry
from tests.models.builders import put_in_hf_cache

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, os, socket, sys, time
from pathlib import Path
assert "HF_HUB_OFFLINE" not in os.environ
if sys.argv[1] == "guard":  # no network namespace available: make every connection fail loudly
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
plan = json.loads(sys.argv[2])
start = time.monotonic()
from desktop_sd.models.resolve import resolve_model
refs = {model_id: resolve_model(model_id) for model_id in plan["ids"]}
resolve_s = time.monotonic() - start
import torch
from diffusers import StableDiffusionPipeline
out = {"resolve_s": resolve_s, "formats": {k: str(r.format) for k, r in refs.items()}}
pipe = StableDiffusionPipeline.from_pretrained(str(refs[plan["generate"]].path), local_files_only=True)
image = pipe("a cat", num_inference_steps=2, height=64, width=64, output_type="np").images[0]
out["generated"] = list(image.shape)
single = StableDiffusionPipeline.from_single_file(plan["single"], config=plan["config"], local_files_only=True)
out["single_scheduler"] = type(single.scheduler).__name__
out["single_ids"] = single.tokenizer("a photo of a cat").input_ids
image = single("a cat", num_inference_steps=2, height=64, width=64, output_type="np").images[0]
out["single_generated"] = list(image.shape)
print("RESULT " + json.dumps(out))
"""


def _network_isolation() -> list[str]:
    """``unshare -rn`` (a private network namespace with nothing in it) where possible, else a socket guard."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return [unshare, "-rn"]
    return []


def tiny_sd1_config(tiny_model_dir: Path, folder: Path) -> Path:
    """The shipped sd1 config folder (model index, scheduler, CLIP tokenizer) with the tiny model's
    component sizes: proves the folder's layout works for ``from_single_file`` with no network."""
    shipped = paths.resources_dir() / "model-configs" / "sd1"
    shutil.copytree(shipped, folder)
    for part in ("unet", "vae", "text_encoder"):
        shutil.copyfile(tiny_model_dir / part / "config.json", folder / part / "config.json")
    config = json.loads((folder / "text_encoder" / "config.json").read_text())
    config["vocab_size"] = 49408  # the shipped tokenizer's ids must fit the embedding
    (folder / "text_encoder" / "config.json").write_text(json.dumps(config))
    return folder


def test_installed_models_work_with_no_network(tiny_model_dir: Path, tmp_path: Path) -> None:
    from desktop_sd.engine.random_models import build_pipeline, save_single_file

    (imported,) = import_path(tiny_model_dir, copy=False, registry=Registry())
    put_in_hf_cache("someone/tiny", tiny_model_dir)
    pipe = build_pipeline("tiny")
    pipe.text_encoder.resize_token_embeddings(49408)
    single = save_single_file(pipe, tmp_path / "tiny-single.safetensors")
    config = tiny_sd1_config(tiny_model_dir, tmp_path / "tiny-sd1-config")
    plan = {
        "ids": [imported.id, "someone/tiny"],
        "generate": "someone/tiny",
        "single": str(single),
        "config": str(config),
    }
    isolation = _network_isolation()
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [*isolation, sys.executable, "-c", CHILD, "none" if isolation else "guard", json.dumps(plan)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    out = json.loads(lines[0].removeprefix("RESULT "))
    assert out["resolve_s"] < 2.0  # no waiting on time-outs
    assert out["formats"] == {imported.id: "diffusers", "someone/tiny": "diffusers"}
    assert out["generated"] == [64, 64, 3] and out["single_generated"] == [64, 64, 3]
    assert out["single_scheduler"] == "PNDMScheduler"
    assert out["single_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]


@pytest.mark.parametrize("model", ["sd-turbo", "someone/not-here"])
def test_uninstalled_model_says_not_available_offline(model: str) -> None:
    from desktop_sd.core.errors import ModelError
    from desktop_sd.models.resolve import resolve_model

    with pytest.raises(ModelError, match="not available offline"):
        resolve_model(model)
