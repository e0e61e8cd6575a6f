"""Where one image came from, beyond its request: what the PNG writer records next to the parameters.

One value instead of six keywords passed from the result through the saver, the library and the
command line to ``library.metadata.encode_png``.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_sd.core.request import GenerationResult


@dataclass(frozen=True)
class Provenance:
    """What made one image, as its metadata records it; every field empty means "nothing to add".

    ``model_hash``: A1111's ``Model hash`` of a single-file checkpoint. ``server``: the ComfyUI
    server that made it, and ``graph``: the API graph (JSON) submitted for it, which goes into a
    ``prompt`` chunk so ComfyUI can load the file. ``lora_hashes``: (name, A1111's short hash) of
    each LoRA that ran; ``vae_hash``: A1111's hash of a separate VAE file. ``postprocessing``: an
    upscale's A1111 Extras text ("Postprocess upscale by: 4, ...").
    """

    model_hash: str = ""
    server: str = ""
    graph: str = ""
    lora_hashes: tuple[tuple[str, str], ...] = ()
    vae_hash: str = ""
    postprocessing: str = ""

    @classmethod
    def of(cls, result: GenerationResult, index: int = 0) -> Provenance:
        """The provenance of image ``index`` of ``result`` (the graph is per image, the rest per job)."""
        return cls(
            model_hash=result.model_hash,
            server=result.server,
            graph=result.graphs[index] if index < len(result.graphs) else "",
            lora_hashes=result.lora_hashes,
            vae_hash=result.vae_hash,
            postprocessing=result.postprocessing,
        )


NO_PROVENANCE = Provenance()  # an image with nothing to record beyond its request (an export, a test)
