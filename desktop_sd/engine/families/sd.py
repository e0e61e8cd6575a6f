"""Stable Diffusion 1.x and 2.x: a UNet and one CLIP text encoder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from diffusers import (
    DiffusionPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
)

from desktop_sd.core.inputs import PipelineKind
from desktop_sd.core.request import Family
from desktop_sd.engine.families.base import FamilySpec


class SDSpec(FamilySpec):
    label = "Stable Diffusion 1.x/2.x"
    families = (Family.SD1, Family.SD2)
    pipelines: ClassVar[Mapping[PipelineKind, type[DiffusionPipeline]]] = {
        PipelineKind.TXT2IMG: StableDiffusionPipeline,
        PipelineKind.IMG2IMG: StableDiffusionImg2ImgPipeline,
        PipelineKind.INPAINT: StableDiffusionInpaintPipeline,
    }
    inpainting_pipeline = StableDiffusionInpaintPipeline
    folder_classes = (
        "StableDiffusionPipeline",
        "StableDiffusionImg2ImgPipeline",
        "StableDiffusionInpaintPipeline",
        "StableDiffusionInpaintPipelineLegacy",
    )
    load_options: ClassVar[Mapping[str, Any]] = {
        "safety_checker": None,
        "feature_extractor": None,
        "requires_safety_checker": False,
    }
    taesd_name = "taesd"
    # Community-fitted factors from the four SD latent channels to RGB.
    latent_rgb = (
        (0.3512, 0.2297, 0.3227),
        (0.3250, 0.4974, 0.2350),
        (-0.2829, 0.1762, 0.2721),
        (-0.2120, -0.2616, -0.7177),
    )


SPEC = SDSpec()
