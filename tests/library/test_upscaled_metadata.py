"""The metadata of an upscaled image (``library.upscaled``): the source's parameters after a plain
upscale, the refine's after a tiled refine, named at the image's final size, with its add-ons' hashes."""

from __future__ import annotations

import io

from PIL import Image

from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.upscaling import UpscaleRequest, UpscaleResult
from desktop_sd.library.metadata import A1111_CHUNK
from desktop_sd.library.upscaled import encode_upscaled


def _parameters(data: bytes) -> tuple[str, str]:
    with Image.open(io.BytesIO(data)) as image:
        return image.info[A1111_CHUNK], image.info["postprocessing"]


def test_a_refined_upscale_names_its_final_size_and_what_ran() -> None:
    source = Image.new("RGB", (48, 40))
    refine = GenerationRequest(Mode.IMG2IMG, "a lighthouse", model="m", width=64, height=64, seed=3, strength=0.4)
    result = UpscaleResult(
        Image.new("RGB", (96, 80)),
        UpscaleRequest(source, "Lanczos", 2.0, refine=refine, tile_size=64),
        2.0,
        "cpu",
        refine=refine,  # as the tiles ran: 64 px each
        tiles=4,
        model_hash="abcdef1234",
        lora_hashes=(("fox style", "de5816afba6d"),),
    )
    parameters, postprocessing = _parameters(encode_upscaled(result, None))
    assert "Size: 96x80" in parameters and "Size: 64x64" not in parameters
    assert "Model hash: abcdef1234" in parameters and 'Lora hashes: "fox style: de5816afba6d"' in parameters
    assert postprocessing == "Postprocess upscale by: 2, Postprocess upscaler: Lanczos, Tiled refine tiles: 4"


def test_a_plain_upscale_keeps_the_source_parameters() -> None:
    source = GenerationRequest(Mode.TXT2IMG, "a lighthouse", model="m", width=48, height=40, seed=9)
    result = UpscaleResult(
        Image.new("RGB", (96, 80)), UpscaleRequest(Image.new("RGB", (48, 40)), "Lanczos", 2.0), 2.0, "cpu"
    )
    parameters, postprocessing = _parameters(encode_upscaled(result, source))
    assert "Size: 48x40" in parameters and "Seed: 9" in parameters  # as A1111's Extras keeps them
    assert postprocessing == "Postprocess upscale by: 2, Postprocess upscaler: Lanczos"
