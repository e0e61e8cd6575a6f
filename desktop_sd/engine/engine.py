"""The engine: runs a ``GenerationRequest`` on a local model and returns the images.

Implements ``core.backend.Backend``. The worker thread owns one ``Engine``;
it keeps one model loaded between jobs, switches modes and schedulers
without reloading, and walks down the memory ladder when the device runs out
of memory. Construction is cheap: nothing is loaded until the first job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from diffusers import DiffusionPipeline
from PIL import Image

from desktop_sd.core import hires, paths
from desktop_sd.core.backend import BackendStatus, StepCallback, report_phase
from desktop_sd.core.errors import Cancelled, InputError, OutOfMemoryError
from desktop_sd.core.file_hash import model_hash
from desktop_sd.core.inputs import PipelineCall, PipelineKind, prepare_call
from desktop_sd.core.params import batch_seeds, draw_seed
from desktop_sd.core.request import Family, GenerationRequest, GenerationResult, MemoryTier, ModelFormat, ModelRef
from desktop_sd.core.upscaling import UpscaleRequest, UpscaleResult
from desktop_sd.core.validation import check_request
from desktop_sd.engine import device as devices
from desktop_sd.engine import hires_pass, loading, run, speed, upscale_job
from desktop_sd.engine.addons import AddonFinder, AppliedAddons, find_by_path, refuse_extras
from desktop_sd.engine.embeddings import EmbeddingLister, Embeddings
from desktop_sd.engine.families import FamilySpec, spec_for_pipeline
from desktop_sd.engine.interrupt import interruptible
from desktop_sd.engine.pipelines import LoadedModel
from desktop_sd.engine.previews import DEFAULT_INTERVAL_S, Previewer, load_taesd, taesd_folder
from desktop_sd.engine.prompt_embeds import diffusers_clip_skip, encode_arguments
from desktop_sd.engine.schedulers import scheduler_id_of, seed_noise
from desktop_sd.engine.tiers import TierMemory, choose_start_tier, next_tier

T = TypeVar("T")
Resolver = Callable[[str], ModelRef]
TaesdFinder = Callable[[Family], Path | None]
UpscalerFinder = Callable[[str], Path]

TIER_NAMES = {
    MemoryTier.GPU: "the whole model on the GPU",
    MemoryTier.MODEL_OFFLOAD: "model offload",
    MemoryTier.SEQUENTIAL_OFFLOAD: "sequential offload",
}

NO_FAST_DECODER = (
    "Fast decode needs TAESD, which is not installed; the full VAE decoded this image. "
    "Install TAESD (TAESDXL for SDXL models) from the Models dialog, or with `desktop-sd models download taesd`."
)


class _OutOfMemory(Exception):
    """Internal: the device ran out of memory in ``stage`` ("denoise" or "decode")."""

    def __init__(self, stage: str) -> None:
        super().__init__(stage)
        self.stage = stage


class Engine:
    """Generates images with diffusers pipelines on the best local device."""

    def __init__(
        self,
        resolve: Resolver,
        device: str = "auto",
        *,
        preview_interval_s: float = DEFAULT_INTERVAL_S,
        tier_memory: TierMemory | None = None,
        find_taesd: TaesdFinder | None = None,
        find_addon: AddonFinder | None = None,
        list_embeddings: EmbeddingLister | None = None,
        find_upscaler: UpscalerFinder | None = None,
        speed_options: speed.SpeedOptions | None = None,
    ) -> None:
        """``find_taesd(family)`` names the installed TAESD folder for previews (the model
        registry knows); without it, ``models/taesd`` and ``models/taesdxl`` are looked in.
        ``find_addon(kind, name)`` finds an installed LoRA or VAE; without it, names must be paths.
        ``list_embeddings()`` gives the installed textual-inversion files by name in lower case (read once
        a job); without it, no embeddings are used."""
        self._find_addon = find_addon or find_by_path
        self._resolve = resolve
        self._find_taesd = find_taesd
        self._device_choice = device
        self._preview_interval = preview_interval_s
        self._tiers = tier_memory or TierMemory()
        self._model: LoadedModel | None = None
        self._embeddings = Embeddings(list_embeddings)
        self._lock = threading.RLock()
        self._speed = speed_options or speed.SpeedOptions()  # the default changes nothing: float32 on the CPU
        self.loads = 0  # how many times a model was read from disk (a reload shows up here)
        self.upscalers = upscale_job.Upscalers(find_upscaler)  # upscaler models by name (hires fix, upscale jobs)
        self._latents: torch.Tensor | None = None  # the last pass's latents, for a latent hires upscale

    # ---- Backend -------------------------------------------------------------------------

    def generate(
        self, request: GenerationRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> GenerationResult:
        """Run one request. Raises ``Cancelled``, ``InputError``, ``ModelError`` or ``OutOfMemoryError``."""
        with self._lock:
            started = time.perf_counter()
            request, notices = check_request(request)
            seed = request.seed if request.seed is not None else draw_seed()
            request = request.replace(seed=seed)
            call = prepare_call(request)  # bad images and masks fail here, before any model is loaded
            notices += call.notices
            _raise_if_cancelled(cancelled)
            model = self.model_for(request, cancelled)
            notices += model.take_speed_notices()
            _raise_if_cancelled(cancelled)
            if model.inpainting:
                call = call.for_inpainting_model()
            if request.scheduler == "default":  # record the scheduler that really runs
                request = request.replace(scheduler=scheduler_id_of(model.schedulers.get("default")))
            run_request, addons, more = self.apply_extras(model, request, call.kind)  # LoRAs, VAE, embeddings
            notices += more
            request = request.replace(ti_hashes=run_request.ti_hashes)
            if not (request.prompt_weights and model.spec.a1111_extras):  # A1111's syntax encodes long prompts
                notices += model.spec.notices(model.base, run_request)  # the prompt as the family reads it
            seeds = batch_seeds(seed, request.batch_size)
            images = self.run_pass(model, call, run_request, seeds, on_step, cancelled, notices)
            if request.fast_decode and model.taesd is None:  # the full VAE decoded it: the metadata must say so
                request = request.replace(fast_decode=False)
                notices.append(NO_FAST_DECODER)
            if hires.wanted(request):
                images = hires_pass.second_pass(
                    self, model, run_request, images, self._latents, seeds, on_step, cancelled, notices
                )
            images = call.finish(images)
            assert model.tier is not None
            return GenerationResult(
                images=tuple(images),
                request=request,
                seeds=seeds,
                model_id=model.model_id,
                model_hash=model.model_hash,
                device=model.device.kind,
                tier=model.tier,
                notices=tuple(notices),
                elapsed_s=time.perf_counter() - started,
                lora_hashes=addons.lora_hashes,
                vae_hash=addons.vae_hash,
            )

    def status(self) -> BackendStatus:
        """Device, free memory and the loaded model's tier; never loads anything, never raises."""
        model = self._model
        if model is not None:
            device = model.device
        else:
            try:
                device = devices.pick_device(self._device_choice)
            except InputError:  # the chosen device is not there: say what will really run
                device = devices.pick_device("auto")
        free = devices.free_memory(device)
        return BackendStatus(
            device=device.kind,
            device_name=device.name,
            tier=model.tier if model is not None else None,
            model_id=model.model_id if model is not None else None,
            free_vram_mb=free // (1024 * 1024) if free is not None else None,
        )

    def unload(self) -> None:
        with self._lock:
            model, self._model = self._model, None
            if model is not None:
                model.release()
                devices.free_caches(model.device)

    # ---- Loading ---------------------------------------------------------------------------

    def use_pipeline(self, name: str, pipe: DiffusionPipeline, device: str | None = None) -> None:
        """Adopt an already built pipeline as the loaded model under ``name`` (benchmarks, tests)."""
        with self._lock:
            self.unload()
            target = speed.tuned(devices.pick_device(device or self._device_choice), self._speed)
            pipe.set_progress_bar_config(disable=True)
            model = LoadedModel(name, name, pipe, target, spec_for_pipeline(pipe))
            model.speed_notices = speed.prepare(pipe, target, self._speed)
            self._install(model)

    def model_for(self, request: GenerationRequest, cancelled: threading.Event | None = None) -> LoadedModel:
        """The loaded model for ``request``, loading it (at the memory tier that fits) if another is loaded."""
        device = devices.pick_device(request.device if request.device != "auto" else self._device_choice)
        device = speed.tuned(device, self._speed)
        speed.apply_threads(device, self._speed)
        model = self._model
        if model is not None and model.name == request.model and model.device == device:
            return model
        ref = self._resolve(request.model)
        if model is not None and model.model_id == ref.id and model.device == device:
            model.name = request.model
            return model
        self.unload()
        plan = loading.plan_model(ref, device.dtype)
        loading.check_ram(ref, plan)
        pipe = loading.load_pipeline(ref, plan, device.dtype, cancelled, vae_dtype=device.vae_dtype)
        self.loads += 1
        model = LoadedModel(request.model, ref.id, pipe, device, plan.spec)
        model.speed_notices = speed.prepare(pipe, device, self._speed)
        model.model_hash = _a1111_hash(ref)
        return self._install(model)

    def _install(self, model: LoadedModel) -> LoadedModel:
        ladder = devices.ladder(model.device)
        model.tier = choose_start_tier(
            ladder,
            devices.free_memory(model.device),
            model.model_bytes,
            model.largest_bytes,
            self._tiers.get(model.model_id, model.device.key),
        )
        self._model = model
        return model

    # ---- Upscaling (engine.upscale_job, engine.hires_pass) --------------------------------

    def upscale(
        self, request: UpscaleRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> UpscaleResult:
        """Upscale one image with an upscaler model or a resampler; with ``request.refine``, then refine it
        tile by tile with img2img. Progress is reported per tile."""
        with self._lock:
            return upscale_job.run(self, request, on_step, cancelled)

    def upscaler_model(self, name: str) -> Any:
        return self.upscalers.model(name)

    def apply_extras(
        self, model: LoadedModel, request: GenerationRequest, kind: PipelineKind
    ) -> tuple[GenerationRequest, AppliedAddons, list[str]]:
        """Set ``request``'s LoRAs, VAE and embeddings on ``model`` for a pass of its own (the tiled refine),
        as ``generate`` does: returns the request to run (LoRA tags out, ``ti_hashes`` in), what was
        applied and notices. Without it a pass would run with whatever the previous job left set."""
        if not model.spec.a1111_extras and not model.spec.takes_loras:
            return request, refuse_extras(model.spec.label, request), []
        pipe = model.pipeline(kind)
        if not model.spec.a1111_extras:  # SD 3, Flux: LoRAs only; the prompt stays plain text
            addons = model.addons.apply_loras(request, self._find_addon, pipe, model.spec.label)
            return request.replace(prompt=addons.prompt, negative_prompt=addons.negative_prompt), addons, []
        addons = model.addons.apply(request, self._find_addon, pipe)
        run_request = request.replace(prompt=addons.prompt, negative_prompt=addons.negative_prompt)
        run_request, notices = self._embeddings.apply(model, pipe, run_request)
        return run_request, addons, notices

    # ---- Running ---------------------------------------------------------------------------

    def _arguments(
        self, call: PipelineCall, request: GenerationRequest, seeds: tuple[int, ...], spec: FamilySpec
    ) -> dict[str, Any]:
        generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]
        skip = {"clip_skip": diffusers_clip_skip(request.clip_skip)} if spec.a1111_extras else {}
        return {
            **call.pipeline_inputs(),
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            **skip,
            "num_inference_steps": request.steps,
            "guidance_scale": request.cfg_scale,
            "num_images_per_prompt": request.batch_size,
            # One CPU generator per image: seed, seed + 1, ... reproducible on any device.
            "generator": generators[0] if len(generators) == 1 else generators,
        }

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
        """One pipeline run on the loaded model (a job's, the hires pass, a refined tile), with the memory
        ladder, previews and cancel checks."""
        pipe = model.pipeline(call.kind)
        pipe.scheduler = model.schedulers.get(request.scheduler)
        seed_noise(pipe.scheduler, seeds)
        ladder = devices.ladder(model.device)
        assert model.tier is not None
        tier = model.tier
        spec = model.spec
        if not model.taesd_checked:
            channels = int(pipe.vae.config.latent_channels)
            model.taesd = load_taesd(
                self._taesd_folder(model), model.device.torch_device, model.device.decode_dtype, channels
            )
            model.taesd_checked = True
        previewer = Previewer(
            model.xl,
            call.size,
            model.taesd,
            self._preview_interval,
            factors=spec.latent_rgb,
            bias=spec.latent_bias,
            linear=spec.latent_rgb is not None,
            unpack=lambda latents: spec.unpack(pipe, latents, call.size),
        )

        def step_end(p: DiffusionPipeline, i: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            _raise_if_cancelled(cancelled)
            total = int(getattr(p, "num_timesteps", 0) or request.steps)
            on_step(i + 1, total, previewer(tensors["latents"], force=i + 1 == total))
            return {}

        arguments = spec.arguments(self._arguments(call, request, seeds, spec), request, call.size)
        with interruptible((getattr(pipe, spec.denoiser, None), getattr(pipe, "vae", None)), cancelled):
            return self._denoise_and_decode(
                model, pipe, tier, ladder, call, request, seeds, arguments, step_end, cancelled, notices
            )

    def _denoise_and_decode(
        self,
        model: LoadedModel,
        pipe: DiffusionPipeline,
        tier: MemoryTier,
        ladder: tuple[MemoryTier, ...],
        call: PipelineCall,
        request: GenerationRequest,
        seeds: tuple[int, ...],
        arguments: dict[str, Any],
        step_end: run.StepEnd,
        cancelled: threading.Event,
        notices: list[str],
    ) -> list[Image.Image]:
        latents: torch.Tensor | None = None
        while latents is None:
            try:
                report_phase("Encoding the prompt…")  # until the first step reports
                weighted = request.prompt_weights and model.spec.a1111_extras
                latents = self._attempt(
                    "denoise", _denoise_at, model, pipe, tier, arguments, step_end, weighted, call.size
                )
            except _OutOfMemory:
                tier = self._step_down(model, ladder, tier, request, notices)
                # fresh generators: the retry repeats the seeds
                arguments = model.spec.arguments(self._arguments(call, request, seeds, model.spec), request, call.size)
        _raise_if_cancelled(cancelled)  # a cancel during the last step still skips the decode
        self._latents = latents
        images: list[Image.Image] | None = None
        while images is None:
            try:
                images = self._attempt("decode", _decode_at, model, pipe, tier, latents, request.fast_decode)
            except _OutOfMemory:
                if not model.vae_tiling:
                    devices.free_caches(model.device)
                    model.vae_tiling = True
                    notices.append("The image decode ran out of memory; it was retried in tiles.")
                else:
                    tier = self._step_down(model, ladder, tier, request, notices)
        if model.device.kind != "cpu" and tier != self._tiers.get(model.model_id, model.device.key):
            self._tiers.put(model.model_id, model.device.key, tier)
        return images

    def _taesd_folder(self, model: LoadedModel) -> Path | None:
        family = model.spec.families[0]
        found = self._find_taesd(family) if self._find_taesd is not None else None
        return found if found is not None else taesd_folder(model.spec.taesd_name)

    def _attempt(self, stage: str, action: Callable[..., T], *args: Any) -> T:
        """Run ``action``; an out-of-memory error becomes ``_OutOfMemory`` after its traceback is dropped."""
        try:
            return action(*args)
        except Exception as exc:
            if not devices.is_out_of_memory(exc):
                raise
        # Outside the except block, so the frames holding the failed tensors are gone.
        raise _OutOfMemory(stage)

    def _step_down(
        self,
        model: LoadedModel,
        ladder: tuple[MemoryTier, ...],
        tier: MemoryTier,
        request: GenerationRequest,
        notices: list[str],
    ) -> MemoryTier:
        devices.free_caches(model.device)
        lower = next_tier(ladder, tier)
        if lower is None:
            on_cpu = model.device.kind == "cpu"
            tried = "" if on_cpu else f", even with {TIER_NAMES[tier]}"
            others = "programs" if on_cpu else "programs that use the GPU"
            raise OutOfMemoryError(
                f"Out of memory at {request.width}x{request.height} with a batch of {request.batch_size}{tried}. "
                f"Try a smaller size or a smaller batch, or close other {others}."
            )
        notices.append(f"Out of GPU memory with {TIER_NAMES[tier]}; retried with {TIER_NAMES[lower]} (slower).")
        return lower


def _denoise_at(
    model: LoadedModel,
    pipe: DiffusionPipeline,
    tier: MemoryTier,
    arguments: dict[str, Any],
    step_end: run.StepEnd,
    prompt_weights: bool,
    size: tuple[int, int],
) -> torch.Tensor:
    model.place(pipe, tier)
    # The prompts are encoded once the encoders are placed (and within the out-of-memory retry).
    latents = run.denoise(pipe, encode_arguments(pipe, arguments, prompt_weights), step_end)
    return model.spec.unpack(pipe, latents, size)


def _raise_if_cancelled(cancelled: threading.Event) -> None:
    if cancelled.is_set():
        raise Cancelled("Cancelled.")


def _decode_at(
    model: LoadedModel, pipe: DiffusionPipeline, tier: MemoryTier, latents: torch.Tensor, fast: bool = False
) -> list[Image.Image]:
    model.place(pipe, tier)  # a no-op unless the tier or VAE tiling just changed
    speed.keep_vae_precision(pipe, model.device)
    if fast and model.taesd is not None:
        return run.decode_fast(pipe, model.taesd, latents)
    return run.decode(pipe, latents, model.spec)


def _a1111_hash(ref: ModelRef) -> str:
    """The checkpoint's ``Model hash`` as A1111 writes it; "" for a folder model (A1111 has none)
    or a file that cannot be read."""
    if ref.format is not ModelFormat.SINGLE_FILE or not ref.path.is_file():
        return ""
    try:
        return model_hash(ref.path, paths.cache_dir() / "model-hashes.json")
    except OSError:
        return ""
