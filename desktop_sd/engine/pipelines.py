"""A loaded model: its pipelines per mode (sharing one set of weights), schedulers and placement."""

from __future__ import annotations

from diffusers import AutoencoderTiny, DiffusionPipeline

from desktop_sd.core.inputs import PipelineKind
from desktop_sd.core.request import MemoryTier
from desktop_sd.engine import placement, speed
from desktop_sd.engine.addons import ModelAddons
from desktop_sd.engine.device import Device
from desktop_sd.engine.families import FamilySpec, sdxl
from desktop_sd.engine.schedulers import SchedulerSet
from desktop_sd.engine.tiers import SETUPS


def _component_bytes(module: object) -> int:
    parameters = getattr(module, "parameters", None)
    if parameters is None:
        return 0
    return sum(p.numel() * p.element_size() for p in parameters())


class LoadedModel:
    """One model in memory. Mode switches use ``from_pipe`` (no reload); the memory tier
    is applied to whichever pipeline runs, and re-applied when that changes."""

    def __init__(self, name: str, model_id: str, base: DiffusionPipeline, device: Device, spec: FamilySpec) -> None:
        self.name = name  # what the request named it
        self.model_id = model_id
        self.model_hash = ""  # A1111's "Model hash" of a single-file checkpoint
        self.device = device
        self.spec = spec  # the model's family: how it is called, decoded and previewed
        self.inpainting = spec.is_inpainting(base)  # a dedicated inpainting model (9-channel UNet, Flux Fill)
        self.schedulers = SchedulerSet(base.scheduler, spec.flow_matching, spec.label)
        self._pipes: dict[PipelineKind, DiffusionPipeline] = {self._kind_of(base): base}
        self._placed: tuple[int, MemoryTier, bool] | None = None  # (pipeline id, tier, vae tiling)
        self._active: DiffusionPipeline | None = None
        self.tier: MemoryTier | None = None
        self.vae_tiling = False  # switched on for good once a decode ran out of memory
        self.taesd: AutoencoderTiny | None = None
        self.taesd_checked = False
        self.addons = ModelAddons(self.pipelines, device.dtype, self.detach)  # LoRAs and VAE of the current job
        self.speed_notices: list[str] = []  # said once, with the first image (a compile that takes minutes)
        sizes = {name: _component_bytes(c) for name, c in base.components.items()}
        self.model_bytes = sum(sizes.values())
        # What must fit on the device at once under model offload: the components kept on the CPU do not count.
        on_device = [size for name, size in sizes.items() if name not in spec.cpu_components]
        self.largest_bytes = max(on_device, default=0)

    def take_speed_notices(self) -> list[str]:
        notices, self.speed_notices = self.speed_notices, []
        return notices

    def _kind_of(self, pipe: DiffusionPipeline) -> PipelineKind:
        for kind, cls in self.spec.pipelines.items():
            if type(pipe) is cls:
                return kind
        return PipelineKind.INPAINT if self.inpainting else PipelineKind.TXT2IMG

    @property
    def xl(self) -> bool:
        """An SDXL model (``spec`` tells every family apart)."""
        return self.spec is sdxl.SPEC

    @property
    def base(self) -> DiffusionPipeline:
        """The pipeline the model was loaded as."""
        return next(iter(self._pipes.values()))

    @property
    def tokenizer(self) -> object:
        return next(iter(self._pipes.values())).tokenizer

    def pipelines(self) -> list[DiffusionPipeline]:
        """Every pipeline made so far (they share their weights)."""
        return list(self._pipes.values())

    def pipeline(self, kind: PipelineKind) -> DiffusionPipeline:
        """The pipeline for a mode, made from the loaded one on first use (weights shared)."""
        if kind not in self._pipes:
            self.detach()  # from_pipe must not copy a pipeline that carries offload hooks
            source = next(iter(self._pipes.values()))
            pipe = speed.from_pipe(self.spec.pipelines[kind], source, self.device)
            pipe.set_progress_bar_config(disable=True)
            self._pipes[kind] = pipe
        return self._pipes[kind]

    def place(self, pipe: DiffusionPipeline, tier: MemoryTier) -> None:
        """Put ``pipe`` on the device at ``tier`` unless it is already placed that way."""
        self._place(pipe, tier)
        if tier is MemoryTier.MODEL_OFFLOAD and self.device.kind != "cpu":
            # Every pipeline call ends by setting model offload up afresh (``maybe_free_model_hooks``),
            # T5 included: keep it on the CPU again before each run.
            placement.keep_on_cpu(pipe, self.spec.cpu_components)

    def _place(self, pipe: DiffusionPipeline, tier: MemoryTier) -> None:
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
