"""Tiled diffusion refine (as Ultimate SD Upscale): img2img over an enlarged image, one tile at a time.

Each tile is an ordinary img2img call at the tile's size, so a 4096 px image is refined with the
memory a 512 px generation needs. Neighbouring tiles overlap and are blended with weights that
ramp across the overlap (``engine.tiling``), so no seam shows. All tiles use the same seed.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from desktop_sd.core.backend import StepCallback, report_phase
from desktop_sd.core.errors import Cancelled
from desktop_sd.core.inputs import PipelineKind, prepare_call
from desktop_sd.core.params import draw_seed
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.upscaling import UpscaleRequest
from desktop_sd.core.validation import check_request
from desktop_sd.engine import tiling
from desktop_sd.engine.passes import PassRunner
from desktop_sd.engine.schedulers import scheduler_id_of

_STEP = 8  # the models work on multiples of 8 pixels


class Refined(NamedTuple):
    """A refine's image and what ran: the request as run (seed drawn, scheduler named, the size the
    tiles ran at), the number of tiles, and the checkpoint's, LoRAs' and VAE's hashes for the metadata."""

    image: Image.Image
    request: GenerationRequest
    tiles: int
    model_hash: str
    lora_hashes: tuple[tuple[str, str], ...]
    vae_hash: str


def _to_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)


def _to_image(pixels: torch.Tensor) -> Image.Image:
    array = (pixels.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(array, "RGB")


def _run_size(width: int, height: int) -> tuple[int, int]:
    return (max(_STEP, -(-width // _STEP) * _STEP), max(_STEP, -(-height // _STEP) * _STEP))


def _tile_steps(tile: int, tiles: int) -> StepCallback:
    def on_step(step: int, total: int, preview: Image.Image | None) -> None:
        report_phase(f"Refining tile {tile} of {tiles}: step {step} of {total}…")

    return on_step


def refine(
    engine: PassRunner,
    image: Image.Image,
    request: UpscaleRequest,
    on_step: StepCallback,
    cancelled: threading.Event,
    notices: list[str],
) -> Refined:
    """``image`` refined tile by tile with ``request.refine`` (its LoRAs, VAE and embeddings set as a
    generation sets them). ``on_step(k, n, None)`` after tile k."""
    assert request.refine is not None
    tile = min(request.tile_size, max(image.width, image.height))
    base, base_notices = check_request(
        request.refine.replace(
            mode=Mode.IMG2IMG,
            init_image=image,
            width=_run_size(tile, tile)[0],
            height=_run_size(tile, tile)[1],
            batch_size=1,
            hires_scale=1.0,
        )
    )
    notices += base_notices
    seed = base.seed if base.seed is not None else draw_seed()
    base = base.replace(seed=seed)
    report_phase("Loading the model for the refine…")
    model = engine.model_for(base, cancelled)
    if base.scheduler == "default":
        base = base.replace(scheduler=scheduler_id_of(model.schedulers.get("default")))
    kind = PipelineKind.INPAINT if model.inpainting else PipelineKind.IMG2IMG
    run_base, addons, more = engine.apply_extras(model, base, kind)
    notices += more
    base = base.replace(ti_hashes=run_base.ti_hashes)  # recorded with its LoRA tags, as a generation is
    parts = tiling.tiles(image.width, image.height, request.tile_size, request.tile_overlap)
    blender = tiling.Blender(3, image.width, image.height, request.tile_overlap)
    source = image.convert("RGB")
    for index, part in enumerate(parts):
        if cancelled.is_set():
            raise Cancelled("Cancelled.")
        crop = source.crop(part.box)
        size = _run_size(part.width, part.height)
        tile_request = run_base.replace(init_image=crop, width=size[0], height=size[1])
        call = prepare_call(tile_request)  # a tile not a multiple of 8 is run scaled to one (and back)
        if model.inpainting:
            call = call.for_inpainting_model()
        report_phase(f"Refining tile {index + 1} of {len(parts)}…")
        tile_step = _tile_steps(index + 1, len(parts))
        out = engine.run_pass(model, call, tile_request, (seed,), tile_step, cancelled, [])[0]
        if out.size != crop.size:
            out = out.resize(crop.size, Image.Resampling.LANCZOS)
        blender.add(part, _to_tensor(out))
        on_step(index + 1, len(parts), None)
    return Refined(
        _to_image(blender.result()),
        base.replace(init_image=None),
        len(parts),
        model.model_hash,
        addons.lora_hashes,
        addons.vae_hash,
    )
