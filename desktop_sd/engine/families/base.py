"""The interface every model family implements: how it loads, runs and decodes.

The engine, the loader and ``LoadedModel`` ask a family's spec instead of
branching on the family themselves, so a new family is one module of its own
(a ``FamilySpec`` subclass) added to the list in ``families/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from diffusers import DiffusionPipeline, ModelMixin

from desktop_sd.core.inputs import PipelineKind
from desktop_sd.core.request import Family, GenerationRequest
from desktop_sd.engine.prompts import truncation_notices


class FamilySpec:
    """One model family. The defaults are those of SD 1.x/2.x (a UNet, one CLIP text encoder)."""

    label: ClassVar[str] = ""  # the family's name in messages, e.g. "SDXL"
    families: ClassVar[tuple[Family, ...]] = ()  # the ``core.request.Family`` values it runs
    # Pipeline per mode for a regular model, and the one pipeline of a dedicated inpainting model.
    pipelines: ClassVar[Mapping[PipelineKind, type[DiffusionPipeline]]] = {}
    inpainting_pipeline: ClassVar[type[DiffusionPipeline] | None] = None
    folder_classes: ClassVar[tuple[str, ...]] = ()  # model_index.json ``_class_name`` values of this family
    denoiser: ClassVar[str] = "unet"  # the component that runs at every step
    # The transformer's class, for a quantized transformer loaded from a GGUF file; None: no GGUF files.
    transformer_class: ClassVar[type[ModelMixin] | None] = None
    weight_components: ClassVar[tuple[str, ...]] = ("unet", "vae", "text_encoder")
    optional_components: ClassVar[tuple[str, ...]] = ()  # may be missing from a folder (loaded as None)
    # Components kept on the CPU when the model does not fit the GPU whole (T5-XXL: about 9.5 GB that runs
    # once per prompt); they run there and hand their output to the device (``placement.keep_on_cpu``).
    cpu_components: ClassVar[tuple[str, ...]] = ()
    load_options: ClassVar[Mapping[str, Any]] = {}  # extra ``from_pretrained`` / ``from_single_file`` arguments
    flow_matching: ClassVar[bool] = False  # sampled by flow matching: only flow-matching schedulers apply
    # CLIP text encoders and a UNet, as A1111 runs them: its weighted prompt syntax, clip skip, LoRA files,
    # textual-inversion embeddings and separate VAEs apply. SD 3 and Flux read prompts as plain text and
    # take none of these but LoRAs (``takes_loras``).
    a1111_extras: ClassVar[bool] = True
    # LoRA files (``<lora:NAME:WEIGHT>`` tags, the picker) for a family without ``a1111_extras``; a separate
    # VAE is still refused by name there.
    takes_loras: ClassVar[bool] = True
    taesd_name: ClassVar[str] = "taesd"  # the models/ subfolder its tiny preview autoencoder is looked for in
    # Linear latent -> RGB preview factors (one row per latent channel) and bias; None: no linear preview.
    latent_rgb: ClassVar[tuple[tuple[float, float, float], ...] | None] = None
    latent_bias: ClassVar[tuple[float, float, float]] = (0.0, 0.0, 0.0)

    # ---- loading -------------------------------------------------------------------------

    def load_class(self, inpainting: bool) -> type[DiffusionPipeline]:
        """The pipeline class a model of this family is loaded with."""
        if inpainting and self.inpainting_pipeline is not None:
            return self.inpainting_pipeline
        return self.pipelines[PipelineKind.TXT2IMG]

    def check_folder(self, folder: Path, index: Mapping[str, Any]) -> None:
        """Raise ``ModelError`` for a folder of this family that cannot generate on its own."""

    def folder_inpainting(self, folder: Path, read_json: Any) -> bool:
        """Whether a diffusers folder is a dedicated inpainting model (from its denoiser's config)."""
        config = read_json(folder / self.denoiser / "config.json", f"{self.denoiser} config")
        return bool(config.get("in_channels") == 9)

    def is_inpainting(self, pipe: DiffusionPipeline) -> bool:
        """Whether a loaded pipeline is a dedicated inpainting model (it has only an inpaint pipeline)."""
        return bool(getattr(pipe, self.denoiser).config.in_channels == 9)

    def owns(self, pipe: DiffusionPipeline) -> bool:
        """Whether ``pipe`` is one of this family's pipelines."""
        classes = {*self.pipelines.values(), self.inpainting_pipeline}
        return type(pipe) in classes

    # ---- running -------------------------------------------------------------------------

    def arguments(self, arguments: dict[str, Any], request: GenerationRequest, size: tuple[int, int]) -> dict[str, Any]:
        """The pipeline call's arguments for this family (guidance, negative prompt), from the common ones."""
        return arguments

    def notices(self, pipe: DiffusionPipeline, request: GenerationRequest) -> list[str]:
        """What the user should know about how this family read the request (prompt cut at 77 tokens...)."""
        return truncation_notices(pipe.tokenizer, request.prompt, request.negative_prompt)

    def unpack(self, pipe: DiffusionPipeline, latents: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The pipeline's output latents as an image-shaped (B, C, H/8, W/8) tensor."""
        return latents

    def decode(self, pipe: DiffusionPipeline, latents: torch.Tensor) -> torch.Tensor:
        """Latents to images in [-1, 1], exactly as the family's pipelines do after their loop."""
        vae = pipe.vae
        decoded: torch.Tensor = vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
        return decoded
