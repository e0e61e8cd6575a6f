"""What reusing an image's parameters cannot bring back: the embeddings it used that are not installed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from desktop_sd.core.prompt_syntax import embedding_names
from desktop_sd.core.request import GenerationRequest
from desktop_sd.models.embeddings import embedding_files, embeddings_dir


def reuse_notices(
    request: GenerationRequest, installed: Callable[[], Mapping[str, Path]] = embedding_files
) -> list[str]:
    """A notice naming the embeddings in ``request.ti_hashes`` that are not ``installed``; none when all are."""
    names = embedding_names(request.ti_hashes)
    have = installed() if names else {}
    missing = [name for name in names if name.strip().lower() not in have]
    if not missing:
        return []
    listed = ", ".join(missing)
    return [
        f"Embedding{'s' if len(missing) > 1 else ''} not installed: {listed}. The image used "
        f"{'them' if len(missing) > 1 else 'it'}; until the file is in {embeddings_dir()}, the name is read as "
        "plain text."
    ]
