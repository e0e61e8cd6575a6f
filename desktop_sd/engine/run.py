"""One pipeline call split in two, denoise then decode, so that an out-of-memory
decode can be retried (tiled, or a tier lower) without denoising again.

``decode`` does exactly what the pipelines do after their loop, so the pixels
match a plain diffusers call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from diffusers import AutoencoderTiny, DiffusionPipeline
from PIL import Image

from desktop_sd.core.errors import ModelError
from desktop_sd.engine.families import FamilySpec

NO_IMAGE = (
    "The model produced no image (NaN). The model file may be damaged: download or copy it again. If it works "
    "elsewhere, it may need float32 (run it with --device cpu) or another VAE."
)

StepEnd = Callable[[DiffusionPipeline, int, Any, dict[str, Any]], dict[str, Any]]


def denoise(pipe: DiffusionPipeline, arguments: dict[str, Any], on_step_end: StepEnd) -> torch.Tensor:
    """Run the pipeline's loop and return the final latents (no VAE decode)."""
    result = pipe(**arguments, output_type="latent", callback_on_step_end=on_step_end, return_dict=False)
    latents: torch.Tensor = result[0]
    return latents


def decode(pipe: DiffusionPipeline, latents: torch.Tensor, spec: FamilySpec) -> list[Image.Image]:
    """Latents (image-shaped: ``FamilySpec.unpack``) to PIL images, as the family's pipelines do it."""
    with torch.no_grad():
        # The VAE may run in a higher precision than the denoiser (float32 beside bfloat16 on the CPU).
        images = spec.decode(pipe, latents.to(pipe.vae.dtype))
        check_produced(latents, images)
        result = pipe.image_processor.postprocess(images, output_type="pil", do_denormalize=[True] * images.shape[0])
    pipe.maybe_free_model_hooks()
    return list(result)


def decode_fast(pipe: DiffusionPipeline, taesd: AutoencoderTiny, latents: torch.Tensor) -> list[Image.Image]:
    """Latents to PIL images through TAESD, the tiny autoencoder: well under a second at 512x512 on a CPU
    where the full VAE takes many, with softer fine detail. TAESD takes the pipeline's latents unscaled."""
    with torch.no_grad():
        images = taesd.decode(latents.to(taesd.device, taesd.dtype), return_dict=False)[0]
        check_produced(latents, images)
        result = pipe.image_processor.postprocess(
            images.float(), output_type="pil", do_denormalize=[True] * images.shape[0]
        )
    pipe.maybe_free_model_hooks()
    return list(result)


def check_produced(latents: torch.Tensor, images: torch.Tensor) -> None:
    """Refuse NaN latents or a decode that is one flat value: what damaged weights (or an fp16 overflow)
    produce, and would otherwise come back silently as a black or grey picture."""
    flat = images.flatten(1)
    flat_image = bool((flat.amax(1) == flat.amin(1)).any())
    if flat_image or not torch.isfinite(latents).all() or not torch.isfinite(images).all():
        raise ModelError(NO_IMAGE)
