"""What reusing an image's parameters cannot bring back: the embeddings it used that are not installed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from desktop_sd.core.prompt_syntax import embedding_names
from desktop_sd.core.request import GenerationRequest
from desktop_sd.models.embeddings import embeddings_dir, find_embedding


def reuse_notices(request: GenerationRequest, find: Callable[[str], Path | None] = find_embedding) -> list[str]:
    """A notice naming the embeddings in ``request.ti_hashes`` that ``find`` does not find; none when all are."""
    missing = [name for name in embedding_names(request.ti_hashes) if find(name) is None]
    if not missing:
        return []
    names = ", ".join(missing)
    return [
        f"Embedding{'s' if len(missing) > 1 else ''} not installed: {names}. The image used "
        f"{'them' if len(missing) > 1 else 'it'}; until the file is in {embeddings_dir()}, the name is read as "
        "plain text."
    ]
