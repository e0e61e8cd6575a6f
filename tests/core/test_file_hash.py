"""A1111's model hash: the first 10 hex digits of the file's SHA-256, computed once per file version."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from desktop_sd.core import file_hash
from desktop_sd.core.file_hash import model_hash


def test_the_hash_is_computed_once_and_again_when_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"weights" * 1000)
    cache = tmp_path / "cache" / "hashes.json"
    calls: list[Path] = []
    real = file_hash.sha256_file
    monkeypatch.setattr(file_hash, "sha256_file", lambda path: calls.append(path) or real(path))

    expected = hashlib.sha256(model.read_bytes()).hexdigest()[:10]
    assert model_hash(model, cache) == expected and len(calls) == 1
    assert model_hash(model, cache) == expected and len(calls) == 1  # from the cache
    model.write_bytes(b"other weights" * 1000)
    os.utime(model, ns=(1, 1))
    assert model_hash(model, cache) == hashlib.sha256(model.read_bytes()).hexdigest()[:10] and len(calls) == 2


def test_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    model = tmp_path / "m.ckpt"
    model.write_bytes(b"x")
    cache = tmp_path / "hashes.json"
    cache.write_text("{not json", encoding="utf-8")
    assert model_hash(model, cache) == hashlib.sha256(b"x").hexdigest()[:10]
    assert model_hash(model, cache) == hashlib.sha256(b"x").hexdigest()[:10]
