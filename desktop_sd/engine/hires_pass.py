"""The hires fix's second pass: upscale the first pass, then img2img on it with the same loaded model.

"Latent" upscalers enlarge the first pass's latents (bilinear, or nearest-exact, as A1111's
"Latent" and "Latent (nearest-exact)") and hand them to the img2img pipeline, which takes 4-channel
latents in place of an image. The others decode first (already done by the first pass), enlarge the
pixels (Lanczos, nearest, or an upscaler model) and run img2img on that picture: the same call as a
plain diffusers img2img on the upscaled image, so the pixels match it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from PIL import Image

from desktop_sd.core.backend import StepCallback, report_phase
from desktop_sd.core.hires import hires_size
from desktop_sd.core.inputs import PipelineCall, PipelineKind
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.upscaling import LATENT_NEAREST, NEAREST, PIXEL_BUILTINS, is_latent
from desktop_sd.engine import upscalers
from desktop_sd.engine.passes import PassRunner
from desktop_sd.engine.pipelines import LoadedModel


@dataclass
class LatentCall(PipelineCall):
    """An img2img call whose "image" is already latents (4 channels, the model's scale)."""

    latents: torch.Tensor | None = field(default=None, repr=False)

    def pipeline_inputs(self) -> dict[str, object]:
        return {"image": self.latents, "strength": self.strength}


def upscale_latents(latents: torch.Tensor, size: tuple[int, int], upscaler: str) -> torch.Tensor:
    """Latents enlarged to ``size`` pixels (latents are 1/8 of the pixels)."""
    width, height = size
    mode = "nearest-exact" if upscaler == LATENT_NEAREST else "bilinear"
    target = (height // 8, width // 8)
    if mode == "bilinear":
        return F.interpolate(latents, size=target, mode=mode, align_corners=False)
    return F.interpolate(latents, size=target, mode=mode)


def upscale_pixels(
    image: Image.Image,
    size: tuple[int, int],
    upscaler: str,
    engine: PassRunner,
    model: LoadedModel,
    cancelled: threading.Event,
) -> Image.Image:
    """``image`` enlarged to ``size`` with a resampler or an upscaler model."""
    if upscaler in PIXEL_BUILTINS:
        return upscalers.resize(image, size, "nearest" if upscaler == NEAREST else "lanczos")
    if is_latent(upscaler):  # in pixels, the nearest there is to enlarging the latents
        return upscalers.resize(image, size, "nearest" if upscaler == LATENT_NEAREST else "bilinear")
    net = engine.upscaler_model(upscaler)
    report_phase(f"Upscaling with {upscaler}…")
    scale = max(size[0] / image.width, size[1] / image.height)
    enlarged = upscalers.upscale_with_model(net, image, scale, model.device, cancelled, _tile_phase(upscaler))
    return upscalers.resize(enlarged, size)


def _tile_phase(name: str) -> Callable[[int, int], None]:
    def on_tile(done: int, total: int) -> None:
        report_phase(f"Upscaling with {name}: tile {done} of {total}…")

    return on_tile


def second_pass(
    engine: PassRunner,
    model: LoadedModel,
    request: GenerationRequest,
    images: list[Image.Image],
    latents: torch.Tensor | None,
    seeds: tuple[int, ...],
    on_step: StepCallback,
    cancelled: threading.Event,
    notices: list[str],
) -> list[Image.Image]:
    """Each first-pass image upscaled and refined with img2img at the hires strength and steps.

    Each image of a batch gets its own pass with its own seed, so image k of a batch is the image
    a batch of one with seed k gives.
    """
    size = hires_size(request)
    second = request.replace(
        mode=Mode.IMG2IMG,
        width=size[0],
        height=size[1],
        steps=request.hires_steps or request.steps,
        strength=request.hires_strength,
        batch_size=1,
    )
    refined: list[Image.Image] = []
    for index, (image, seed) in enumerate(zip(images, seeds, strict=True)):
        call: PipelineCall
        if is_latent(request.hires_upscaler) and latents is not None and not model.inpainting:
            up = upscale_latents(latents[index : index + 1], size, request.hires_upscaler)
            call = LatentCall(PipelineKind.IMG2IMG, size, request.hires_strength, latents=up)
        else:
            if is_latent(request.hires_upscaler) and index == 0:
                notices.append(
                    "This model cannot take upscaled latents (an inpainting model); the hires pass upscaled pixels."
                )
            up_image = upscale_pixels(image, size, request.hires_upscaler, engine, model, cancelled)
            call = PipelineCall(PipelineKind.IMG2IMG, size, request.hires_strength, up_image)
            if model.inpainting:  # a 9-channel model has only an inpaint pipeline: the whole image, masked
                call = call.for_inpainting_model()
        report_phase(f"Hires fix: refining at {size[0]}x{size[1]}…")
        refined += engine.run_pass(model, call, second.replace(seed=seed), (seed,), on_step, cancelled, notices)
    return refined
