"""Stable Diffusion 3 / 3.5: an MMDiT transformer sampled by flow matching, a 16-channel VAE,
CLIP-L, CLIP-G and (optionally) T5-XXL text encoders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from diffusers import (
    DiffusionPipeline,
    SD3Transformer2DModel,
    StableDiffusion3Img2ImgPipeline,
    StableDiffusion3InpaintPipeline,
    StableDiffusion3Pipeline,
)

from desktop_sd.core.inputs import PipelineKind
from desktop_sd.core.request import Family, GenerationRequest
from desktop_sd.engine.families.base import FamilySpec
from desktop_sd.engine.prompts import truncation_notices

NO_T5 = (
    "This SD 3 model runs without its T5 text encoder (not installed), which saves about 9 GB but reads "
    "prompts less closely. Install the model's text_encoder_3 and tokenizer_3 folders to use it."
)


class SD3Spec(FamilySpec):
    label = "SD 3"
    families = (Family.SD3,)
    pipelines: ClassVar[Mapping[PipelineKind, type[DiffusionPipeline]]] = {
        PipelineKind.TXT2IMG: StableDiffusion3Pipeline,
        PipelineKind.IMG2IMG: StableDiffusion3Img2ImgPipeline,
        PipelineKind.INPAINT: StableDiffusion3InpaintPipeline,
    }
    inpainting_pipeline = None  # SD 3 inpaints with the regular model
    folder_classes = ("StableDiffusion3Pipeline", "StableDiffusion3Img2ImgPipeline", "StableDiffusion3InpaintPipeline")
    denoiser = "transformer"
    transformer_class = SD3Transformer2DModel
    weight_components = ("transformer", "vae", "text_encoder", "text_encoder_2", "text_encoder_3")
    # SD 3 generates without T5 (its prompt embedding is zeros then): a folder without it still loads.
    optional_components = ("text_encoder_3", "tokenizer_3")
    flow_matching = True
    a1111_extras = False
    cpu_components = ("text_encoder_3",)  # T5-XXL
    taesd_name = "taesd3"

    def folder_inpainting(self, folder: Any, read_json: Any) -> bool:
        return False

    def is_inpainting(self, pipe: DiffusionPipeline) -> bool:
        return False

    def arguments(self, arguments: dict[str, Any], request: GenerationRequest, size: tuple[int, int]) -> dict[str, Any]:
        width, height = size  # its img2img pipeline takes the size too (the image is already at it)
        return {**arguments, "width": width, "height": height}

    def notices(self, pipe: DiffusionPipeline, request: GenerationRequest) -> list[str]:
        if getattr(pipe, "text_encoder_3", None) is not None:
            return []  # T5 reads the prompt well past CLIP's 77 tokens
        return [NO_T5, *truncation_notices(pipe.tokenizer, request.prompt, request.negative_prompt)]

    def decode(self, pipe: DiffusionPipeline, latents: torch.Tensor) -> torch.Tensor:
        vae = pipe.vae
        latents = (latents / vae.config.scaling_factor) + vae.config.shift_factor
        decoded: torch.Tensor = vae.decode(latents, return_dict=False)[0]
        return decoded


SPEC = SD3Spec()
