"""Where a ``Provenance`` goes in our PNGs: keys beside the request in our JSON chunk, and chunks of its own.

The ``parameters`` text (``metadata.a1111_parameters``) names the same model hash, server,
LoRA and VAE hashes in A1111's words.
"""

from __future__ import annotations

from typing import Any

from desktop_sd.core.provenance import Provenance

COMFY_GRAPH_CHUNK = "prompt"  # ComfyUI loads an image's API graph from this chunk
POSTPROCESSING_CHUNK = "postprocessing"  # as A1111's Extras tab writes it


def provenance_extra(extra: dict[str, Any] | None, provenance: Provenance) -> dict[str, Any] | None:
    """``extra`` (keys of our JSON chunk beside the request) with the provenance's: the server, the model
    hash, an upscale's postprocessing text."""
    added: dict[str, Any] = {}
    if provenance.server:
        added["server"] = provenance.server
    if provenance.model_hash:
        added["model_hash"] = provenance.model_hash
    if provenance.postprocessing:
        added[POSTPROCESSING_CHUNK] = provenance.postprocessing
    return {**(extra or {}), **added} if added else extra


def provenance_chunks(provenance: Provenance) -> dict[str, str]:
    """Text chunks of their own: the ComfyUI graph the image was made with, an upscale's Extras text."""
    chunks: dict[str, str] = {}
    if provenance.graph:
        chunks[COMFY_GRAPH_CHUNK] = provenance.graph
    if provenance.postprocessing:
        chunks[POSTPROCESSING_CHUNK] = provenance.postprocessing
    return chunks
