"""A1111's ``Clip skip`` and ``TI hashes`` keys: written into the parameters text and read back.

A1111 writes ``Clip skip: 2`` only when it is above 1, and
``TI hashes: "name: hash, name: hash"`` (the embeddings the prompts used, each
with the first 10 hex digits of its file's sha256).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from desktop_sd.core.params import CLIP_SKIP
from desktop_sd.core.request import GenerationRequest

CLIP_SKIP_KEY = "Clip skip"
TI_HASHES_KEY = "TI hashes"


def prompt_pairs(request: GenerationRequest) -> list[tuple[str, str]]:
    """The ``(key, value)`` pairs A1111 writes for ``request``'s clip skip and embeddings."""
    pairs = []
    if request.clip_skip > 1:
        pairs.append((CLIP_SKIP_KEY, str(request.clip_skip)))
    if request.ti_hashes:
        pairs.append((TI_HASHES_KEY, request.ti_hashes))
    return pairs


def prompt_fields(extra: Mapping[str, str]) -> dict[str, Any]:
    """Request fields from an image's A1111 keys: ``clip_skip`` and ``ti_hashes`` when present and valid."""
    fields: dict[str, Any] = {}
    text = str(extra.get(CLIP_SKIP_KEY, "")).strip()
    if text.isdigit() and CLIP_SKIP.accepts(int(text)):
        fields["clip_skip"] = int(text)
    hashes = str(extra.get(TI_HASHES_KEY, "")).strip()
    if hashes:
        fields["ti_hashes"] = hashes
    return fields
