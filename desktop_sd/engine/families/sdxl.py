"""SDXL: a larger UNet with text-time conditioning, two CLIP text encoders (CLIP-L and CLIP-G)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from diffusers import (
    DiffusionPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
)

from desktop_sd.core.errors import ModelError
from desktop_sd.core.inputs import PipelineKind
from desktop_sd.core.request import Family
from desktop_sd.engine.families.base import FamilySpec


class SDXLSpec(FamilySpec):
    label = "SDXL"
    families = (Family.SDXL,)
    pipelines: ClassVar[Mapping[PipelineKind, type[DiffusionPipeline]]] = {
        PipelineKind.TXT2IMG: StableDiffusionXLPipeline,
        PipelineKind.IMG2IMG: StableDiffusionXLImg2ImgPipeline,
        PipelineKind.INPAINT: StableDiffusionXLInpaintPipeline,
    }
    inpainting_pipeline = StableDiffusionXLInpaintPipeline
    folder_classes = (
        "StableDiffusionXLPipeline",
        "StableDiffusionXLImg2ImgPipeline",
        "StableDiffusionXLInpaintPipeline",
    )
    weight_components = ("unet", "vae", "text_encoder", "text_encoder_2")
    load_options: ClassVar[Mapping[str, Any]] = {"add_watermarker": False}
    taesd_name = "taesdxl"
    latent_rgb = (
        (0.3651, 0.4232, 0.4341),
        (-0.2533, -0.0042, 0.1068),
        (0.1076, 0.1111, -0.0362),
        (-0.3165, -0.2492, -0.2188),
    )
    latent_bias = (0.1084, -0.0175, -0.0011)

    def check_folder(self, folder: Path, index: Mapping[str, Any]) -> None:
        if index.get("text_encoder", [None])[0] is None:
            raise ModelError(
                f"{folder.name} is an SDXL refiner, which cannot generate on its own. Use an SDXL base model."
            )

    def decode(self, pipe: DiffusionPipeline, latents: torch.Tensor) -> torch.Tensor:
        vae = pipe.vae
        # The SDXL VAE overflows in fp16 unless it was fixed; its config says so (force_upcast).
        upcast = vae.dtype == torch.float16 and bool(getattr(vae.config, "force_upcast", False))
        if upcast:
            vae.to(dtype=torch.float32)
        try:
            latents = latents.to(next(iter(vae.post_quant_conv.parameters())).dtype)
            mean = getattr(vae.config, "latents_mean", None)
            std = getattr(vae.config, "latents_std", None)
            if mean is not None and std is not None:
                mean_t = torch.tensor(mean).view(1, 4, 1, 1).to(latents.device, latents.dtype)
                std_t = torch.tensor(std).view(1, 4, 1, 1).to(latents.device, latents.dtype)
                latents = latents * std_t / vae.config.scaling_factor + mean_t
            else:
                latents = latents / vae.config.scaling_factor
            decoded: torch.Tensor = vae.decode(latents, return_dict=False)[0]
            return decoded
        finally:
            if upcast:
                vae.to(dtype=torch.float16)


SPEC = SDXLSpec()
