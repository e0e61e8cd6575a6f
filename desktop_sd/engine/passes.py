"""What the add-on passes (hires fix, upscale jobs, tiled refine) need from the engine.

A protocol, so those modules take the engine as an argument without importing it.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from PIL import Image

from desktop_sd.core.backend import StepCallback
from desktop_sd.core.inputs import PipelineCall, PipelineKind
from desktop_sd.core.request import GenerationRequest
from desktop_sd.engine.addons import AppliedAddons
from desktop_sd.engine.pipelines import LoadedModel


class PassRunner(Protocol):
    def model_for(self, request: GenerationRequest, cancelled: threading.Event) -> LoadedModel:
        """The loaded model for ``request`` (loading it if another is loaded)."""
        ...

    def run_pass(
        self,
        model: LoadedModel,
        call: PipelineCall,
        request: GenerationRequest,
        seeds: tuple[int, ...],
        on_step: StepCallback,
        cancelled: threading.Event,
        notices: list[str],
    ) -> list[Image.Image]:
        """One pipeline run on ``model``, with the engine's memory ladder, previews and cancel checks."""
        ...

    def apply_extras(
        self, model: LoadedModel, request: GenerationRequest, kind: PipelineKind
    ) -> tuple[GenerationRequest, AppliedAddons, list[str]]:
        """Set ``request``'s LoRAs, VAE and embeddings on ``model``; the request to run, what ran, notices."""
        ...

    def upscaler_model(self, name: str) -> Any:
        """The upscaler model so named (a spandrel ``ImageModelDescriptor``), loaded."""
        ...
