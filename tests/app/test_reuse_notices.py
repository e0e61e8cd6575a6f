"""Reusing an image's parameters names the embeddings it used that are not installed."""

from __future__ import annotations

from desktop_sd.app.reuse_notices import reuse_notices
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.models.embeddings import embeddings_dir


def test_only_the_missing_embeddings_are_named() -> None:
    embeddings_dir().mkdir(parents=True, exist_ok=True)
    (embeddings_dir() / "EasyNegative.safetensors").write_bytes(b"")
    request = GenerationRequest(
        Mode.TXT2IMG, "a cat", negative_prompt="easynegative, badhands", ti_hashes="easynegative: 1, badhands: 2"
    )
    (notice,) = reuse_notices(request)
    assert notice.startswith("Embedding not installed: badhands.") and str(embeddings_dir()) in notice
    assert reuse_notices(request.replace(ti_hashes="easynegative: 1")) == []
    assert reuse_notices(request.replace(ti_hashes="")) == []
