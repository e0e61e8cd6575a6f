"""Flux.1 (dev, schnell, Fill): a rectified-flow transformer over packed 16-channel latents,
CLIP-L (pooled) and T5-XXL text encoders, and guidance distilled into the model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from diffusers import (
    DiffusionPipeline,
    FluxFillPipeline,
    FluxImg2ImgPipeline,
    FluxInpaintPipeline,
    FluxPipeline,
    FluxTransformer2DModel,
)

from desktop_sd.core.inputs import PipelineKind
from desktop_sd.core.request import Family, GenerationRequest
from desktop_sd.engine.families.base import FamilySpec

NO_NEGATIVE = "Flux models take no negative prompt; it was left out."
NO_GUIDANCE = "This Flux model (schnell) has no guidance setting; the guidance value was not used."


def _is_fill(config: Mapping[str, Any]) -> bool:
    """Fill's transformer reads the noisy latents, the masked image's latents and the packed mask:
    six times the channels it writes. ``config``: the transformer's config (a diffusers config is a dict)."""
    data = dict(config)
    in_channels = data.get("in_channels")
    out_channels = data.get("out_channels") or in_channels
    return isinstance(in_channels, int) and isinstance(out_channels, int) and in_channels == 6 * out_channels


class FluxSpec(FamilySpec):
    label = "Flux.1"
    families = (Family.FLUX,)
    pipelines: ClassVar[Mapping[PipelineKind, type[DiffusionPipeline]]] = {
        PipelineKind.TXT2IMG: FluxPipeline,
        PipelineKind.IMG2IMG: FluxImg2ImgPipeline,
        PipelineKind.INPAINT: FluxInpaintPipeline,
    }
    inpainting_pipeline = FluxFillPipeline  # FLUX.1 Fill: a dedicated inpainting model
    folder_classes = ("FluxPipeline", "FluxImg2ImgPipeline", "FluxInpaintPipeline", "FluxFillPipeline")
    denoiser = "transformer"
    transformer_class = FluxTransformer2DModel
    weight_components = ("transformer", "vae", "text_encoder", "text_encoder_2")
    flow_matching = True
    a1111_extras = False
    cpu_components = ("text_encoder_2",)  # T5-XXL
    taesd_name = "taef1"

    def folder_inpainting(self, folder: Path, read_json: Any) -> bool:
        return _is_fill(read_json(folder / "transformer" / "config.json", "transformer config"))

    def is_inpainting(self, pipe: DiffusionPipeline) -> bool:
        return _is_fill(pipe.transformer.config)

    def arguments(self, arguments: dict[str, Any], request: GenerationRequest, size: tuple[int, int]) -> dict[str, Any]:
        # The CFG value is Flux dev's distilled guidance (``guidance_scale`` of the Flux pipelines); Flux
        # runs one pass a step, with no negative prompt (true CFG is not offered: it doubles the time).
        # Its img2img pipeline runs at the given size (1024 px unless told), not the image's.
        width, height = size
        kept = {key: value for key, value in arguments.items() if key != "negative_prompt"}
        return {**kept, "width": width, "height": height}

    def notices(self, pipe: DiffusionPipeline, request: GenerationRequest) -> list[str]:
        notices = [NO_NEGATIVE] if request.negative_prompt.strip() else []
        if not pipe.transformer.config.guidance_embeds and request.cfg_scale not in (0.0, 1.0):
            notices.append(NO_GUIDANCE)
        return notices

    def unpack(self, pipe: DiffusionPipeline, latents: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if latents.ndim == 4:
            return latents
        width, height = size
        unpacked: torch.Tensor = FluxPipeline._unpack_latents(latents, height, width, pipe.vae_scale_factor)
        return unpacked

    def decode(self, pipe: DiffusionPipeline, latents: torch.Tensor) -> torch.Tensor:
        vae = pipe.vae
        latents = (latents / vae.config.scaling_factor) + vae.config.shift_factor
        decoded: torch.Tensor = vae.decode(latents, return_dict=False)[0]
        return decoded


SPEC = FluxSpec()
