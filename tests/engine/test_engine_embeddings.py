"""Textual-inversion embeddings named in prompts, in the file forms A1111 users share, on tiny models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from desktop_sd.core.file_hash import sha256_file
from desktop_sd.core.request import GenerationRequest
from desktop_sd.engine import Engine
from desktop_sd.engine.embeddings import read_embedding
from desktop_sd.models.embeddings import embedding_files, find_embedding
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import max_diff, run

WIDTH = 32  # the tiny text encoders' width


def write_pt(path: Path, vectors: int) -> Path:
    """A1111's own .pt layout."""
    torch.manual_seed(1)
    param = torch.nn.Parameter(torch.randn(vectors, WIDTH) * 3)
    torch.save(
        {
            "string_to_token": {"*": 265},
            "string_to_param": {"*": param},
            "name": path.stem,
            "step": 100,
            "sd_checkpoint": None,
            "sd_checkpoint_name": None,
        },
        path,
    )
    return path


def write_safetensors(path: Path, **tensors: torch.Tensor) -> Path:
    save_file(tensors, str(path))
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("embeddings")
    torch.manual_seed(2)
    write_pt(root / "FoxStyle.pt", 2)
    write_pt(root / "a.pt", 1)  # a name the byte-level vocabulary already has
    write_safetensors(root / "badhands.safetensors", emb_params=torch.randn(3, WIDTH) * 3)
    (root / "xl").mkdir()
    write_safetensors(
        root / "xl" / "xlneg.safetensors", clip_l=torch.randn(2, WIDTH) * 3, clip_g=torch.randn(2, WIDTH) * 3
    )
    return root


@pytest.fixture(scope="module")
def ti_engine(folder: Path) -> Engine:
    return Engine(resolve=resolve_model, device="cpu", list_embeddings=lambda: embedding_files(folder))


def test_the_file_forms_are_read(folder: Path) -> None:
    assert read_embedding(folder / "FoxStyle.pt")["vectors"].shape == (2, WIDTH)
    assert read_embedding(folder / "badhands.safetensors")["vectors"].shape == (3, WIDTH)
    assert set(read_embedding(folder / "xl" / "xlneg.safetensors")) == {"clip_l", "clip_g"}
    assert find_embedding("foxstyle", folder) == folder / "FoxStyle.pt"
    assert find_embedding("nothing", folder) is None


def test_sd1_embeddings_are_used_by_name_and_removed_after(
    ti_engine: Engine, sd_engine: Engine, tiny_request: GenerationRequest, folder: Path
) -> None:
    request = tiny_request.replace(prompt="a red fox, FoxStyle", negative_prompt="(badhands:1.2), blurry")
    base = run(sd_engine, request).images[0]  # no embeddings: the names are plain words
    result = run(ti_engine, request)
    assert max_diff(base, result.images[0]) > 2
    pt, st = folder / "FoxStyle.pt", folder / "badhands.safetensors"
    assert result.request.ti_hashes == f"foxstyle: {sha256_file(pt)[:10]}, badhands: {sha256_file(st)[:10]}"
    # Each form on its own changes the image.
    only_pt = run(ti_engine, request.replace(negative_prompt="blurry")).images[0]
    assert max_diff(run(sd_engine, request.replace(negative_prompt="blurry")).images[0], only_pt) > 2
    # Not named any more: unloaded, and the model reads prompts as before.
    plain = tiny_request.replace(prompt="a red fox")
    again = run(ti_engine, plain)
    assert again.request.ti_hashes == ""
    assert max_diff(again.images[0], run(sd_engine, plain).images[0]) <= 1
    model = ti_engine._model
    assert model is not None and "foxstyle" not in model.tokenizer.get_vocab()  # type: ignore[attr-defined]


def test_sdxl_embedding_goes_into_both_encoders(
    folder: Path, tiny_request: GenerationRequest, tiny_sdxl_dir: Path
) -> None:
    engine = Engine(resolve=resolve_model, device="cpu", list_embeddings=lambda: embedding_files(folder))
    plain_engine = Engine(resolve=resolve_model, device="cpu")
    request = tiny_request.replace(model=str(tiny_sdxl_dir), negative_prompt="xlneg")
    result = run(engine, request)
    assert result.request.ti_hashes.startswith("xlneg: ")
    assert max_diff(result.images[0], run(plain_engine, request).images[0]) > 2
    model = engine._model
    assert model is not None
    pipe = model.pipeline(next(iter(model._pipes)))
    assert "xlneg_1" in pipe.tokenizer.get_vocab() and "xlneg_1" in pipe.tokenizer_2.get_vocab()
    # An SD 1.x-style embedding in an SDXL model: named, not used.
    other = run(engine, request.replace(negative_prompt="badhands"))
    assert any("badhands.safetensors is for" in n and "the model is SDXL" in n for n in other.notices)
    assert other.request.ti_hashes == ""


def test_an_sdxl_embedding_in_an_sd1_model_names_both_families(
    ti_engine: Engine, tiny_request: GenerationRequest
) -> None:
    result = run(ti_engine, tiny_request.replace(prompt="a fox, xlneg"))
    (notice,) = [n for n in result.notices if "xlneg" in n]
    assert "is for SDXL, but the model is" in notice and "plain text" in notice


def test_a_missing_embedding_from_a_reused_image_is_named(ti_engine: Engine, tiny_request: GenerationRequest) -> None:
    request = tiny_request.replace(negative_prompt="ghostneg, blurry", ti_hashes="ghostneg: 0123456789")
    result = run(ti_engine, request)
    assert any("not installed: ghostneg" in n for n in result.notices)
    assert result.request.ti_hashes == ""


def test_an_embedding_named_like_a_vocabulary_word_is_refused_with_a_notice(
    ti_engine: Engine, tiny_request: GenerationRequest
) -> None:
    result = run(ti_engine, tiny_request.replace(prompt="a red fox"))
    (notice,) = [n for n in result.notices if "a.pt" in n]
    assert "already a word" in notice and result.request.ti_hashes == ""
