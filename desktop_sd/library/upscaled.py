"""Metadata of an upscaled image: what made the source, plus what the upscale did.

A1111's Extras tab keeps the source's ``parameters`` and adds a ``postprocessing`` text chunk
(``Postprocess upscale by: 4, Postprocess upscaler: R-ESRGAN 4x+``); we write the same, and keep
the text in our own JSON too (``postprocessing``), the window and the command line alike
(``Provenance.postprocessing``, written by ``library.provenance_chunks``). A tiled refine is an img2img pass, so its
request (model, prompt, strength, seed) is the one recorded.
"""

from __future__ import annotations

from desktop_sd.core.provenance import Provenance
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.upscaling import UpscaleResult
from desktop_sd.library.metadata import encode_png


def upscaled_request(result: UpscaleResult, source: GenerationRequest | None) -> GenerationRequest:
    """The request recorded with the upscaled image. A refine ran at the tile size, but the recorded
    ``Size`` names the image it made, so the parameters (and a reuse of them) give its real size."""
    if result.refine is not None:
        return result.refine.replace(width=result.image.width, height=result.image.height)
    if source is not None:
        return source
    return GenerationRequest(Mode.IMG2IMG, "", width=result.image.width, height=result.image.height)


def postprocessing_text(result: UpscaleResult) -> str:
    pairs = list(result.postprocess_pairs())
    if result.refine is not None:
        pairs.append(("Tiled refine tiles", str(result.tiles)))
    return ", ".join(f"{key}: {value}" for key, value in pairs)


def encode_upscaled(result: UpscaleResult, source: GenerationRequest | None, model_name: str = "") -> bytes:
    """The upscaled image as PNG bytes with its metadata (``metadata.encode_png``, the one PNG writer)."""
    request = upscaled_request(result, source)
    provenance = Provenance(
        model_hash=result.model_hash,
        lora_hashes=result.lora_hashes,
        vae_hash=result.vae_hash,
        postprocessing=postprocessing_text(result),
    )
    return encode_png(result.image, request, model_name or request.model, provenance=provenance)
