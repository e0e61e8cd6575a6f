"""A loaded model: its pipelines per mode (sharing one set of weights), schedulers and placement."""

from __future__ import annotations

from diffusers import (
    AutoencoderTiny,
    DiffusionPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
)

from desktop_sd.core.inputs import PipelineKind
from desktop_sd.core.request import MemoryTier
from desktop_sd.engine import placement, speed
from desktop_sd.engine.device import Device
from desktop_sd.engine.schedulers import SchedulerSet
from desktop_sd.engine.tiers import SETUPS

PIPELINE_CLASSES: dict[bool, dict[PipelineKind, type[DiffusionPipeline]]] = {
    False: {
        PipelineKind.TXT2IMG: StableDiffusionPipeline,
        PipelineKind.IMG2IMG: StableDiffusionImg2ImgPipeline,
        PipelineKind.INPAINT: StableDiffusionInpaintPipeline,
    },
    True: {
        PipelineKind.TXT2IMG: StableDiffusionXLPipeline,
        PipelineKind.IMG2IMG: StableDiffusionXLImg2ImgPipeline,
        PipelineKind.INPAINT: StableDiffusionXLInpaintPipeline,
    },
}


def _component_bytes(module: object) -> int:
    parameters = getattr(module, "parameters", None)
    if parameters is None:
        return 0
    return sum(p.numel() * p.element_size() for p in parameters())


class LoadedModel:
    """One model in memory. Mode switches use ``from_pipe`` (no reload); the memory tier
    is applied to whichever pipeline runs, and re-applied when that changes."""

    def __init__(self, name: str, model_id: str, base: DiffusionPipeline, device: Device, xl: bool) -> None:
        self.name = name  # what the request named it
        self.model_id = model_id
        self.model_hash = ""  # A1111's "Model hash" of a single-file checkpoint
        self.device = device
        self.xl = xl
        self.inpainting = base.unet.config.in_channels == 9
        self.schedulers = SchedulerSet(base.scheduler)
        self._pipes: dict[PipelineKind, DiffusionPipeline] = {self._kind_of(base): base}
        self._placed: tuple[int, MemoryTier, bool] | None = None  # (pipeline id, tier, vae tiling)
        self._active: DiffusionPipeline | None = None
        self.tier: MemoryTier | None = None
        self.vae_tiling = False  # switched on for good once a decode ran out of memory
        self.taesd: AutoencoderTiny | None = None
        self.taesd_checked = False
        self.speed_notices: list[str] = []  # said once, with the first image (a compile that takes minutes)
        sizes = [_component_bytes(c) for c in base.components.values()]
        self.model_bytes = sum(sizes)
        self.largest_bytes = max(sizes, default=0)

    def take_speed_notices(self) -> list[str]:
        notices, self.speed_notices = self.speed_notices, []
        return notices

    def _kind_of(self, pipe: DiffusionPipeline) -> PipelineKind:
        for kind, cls in PIPELINE_CLASSES[self.xl].items():
            if type(pipe) is cls:
                return kind
        return PipelineKind.INPAINT if self.inpainting else PipelineKind.TXT2IMG

    @property
    def tokenizer(self) -> object:
        return next(iter(self._pipes.values())).tokenizer

    def pipeline(self, kind: PipelineKind) -> DiffusionPipeline:
        """The pipeline for a mode, made from the loaded one on first use (weights shared)."""
        if kind not in self._pipes:
            self.detach()  # from_pipe must not copy a pipeline that carries offload hooks
            source = next(iter(self._pipes.values()))
            pipe = speed.from_pipe(PIPELINE_CLASSES[self.xl][kind], source, self.device)
            pipe.set_progress_bar_config(disable=True)
            self._pipes[kind] = pipe
        return self._pipes[kind]

    def place(self, pipe: DiffusionPipeline, tier: MemoryTier) -> None:
        """Put ``pipe`` on the device at ``tier`` unless it is already placed that way."""
        wanted = (id(pipe), tier, self.vae_tiling)
        if self._placed == wanted:
            return
        if self._placed is not None and self._placed[:2] == wanted[:2]:
            placement.set_vae_tiling(pipe, self.vae_tiling or SETUPS[tier].vae_tiling)
            self._placed = wanted
            return
        if self._active is not None and self._active is not pipe:
            placement.detach(self._active)
        self._placed = None
        placement.apply_tier(pipe, tier, self.device, vae_tiling=self.vae_tiling)
        self._placed = wanted
        self._active = pipe
        self.tier = tier

    def detach(self) -> None:
        if self._active is not None:
            placement.detach(self._active)
        self._active = None
        self._placed = None

    def release(self) -> None:
        """Drop every pipeline (the caller frees the device caches afterwards)."""
        self.detach()
        self._pipes.clear()
        self.taesd = None
