"""Scheduler ids (``core.schedulers``) to diffusers schedulers built from the model's own config.

Switching is a new scheduler object over the same model: nothing is reloaded.
The model's config keeps what matters to it (beta schedule, prediction type,
timestep spacing for Turbo models); each id overrides only what defines it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    DPMSolverSDEScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    HeunDiscreteScheduler,
    KDPM2AncestralDiscreteScheduler,
    KDPM2DiscreteScheduler,
    LCMScheduler,
    LMSDiscreteScheduler,
    PNDMScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from desktop_sd.core.errors import InputError
from desktop_sd.core.schedulers import FLOW_MATCHING_IDS, SCHEDULER_IDS, scheduler_info

_NO_KARRAS = {"use_karras_sigmas": False}
_KARRAS = {"use_karras_sigmas": True}
_2M = {"algorithm_type": "dpmsolver++", "solver_order": 2}
_2M_SDE = {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}

# id -> (class, overrides of the model's config). LMS needs scipy, DPM++ SDE torchsde (its
# Brownian-tree noise is seeded per image by the engine: ``seed_noise``).
SCHEDULER_CLASSES: dict[str, tuple[type[SchedulerMixin], dict[str, Any]]] = {
    "pndm": (PNDMScheduler, {"skip_prk_steps": True}),
    "ddim": (DDIMScheduler, {}),
    "lms": (LMSDiscreteScheduler, _NO_KARRAS),
    "euler": (EulerDiscreteScheduler, _NO_KARRAS),
    "euler_a": (EulerAncestralDiscreteScheduler, {}),
    "heun": (HeunDiscreteScheduler, _NO_KARRAS),
    "dpm2": (KDPM2DiscreteScheduler, _NO_KARRAS),
    "dpm2_a": (KDPM2AncestralDiscreteScheduler, _NO_KARRAS),
    "dpmpp_2m": (DPMSolverMultistepScheduler, {**_2M, **_NO_KARRAS}),
    "dpmpp_2m_karras": (DPMSolverMultistepScheduler, {**_2M, **_KARRAS}),
    "dpmpp_sde": (DPMSolverSDEScheduler, _NO_KARRAS),
    "dpmpp_sde_karras": (DPMSolverSDEScheduler, _KARRAS),
    "dpmpp_2m_sde": (DPMSolverMultistepScheduler, {**_2M_SDE, **_NO_KARRAS}),
    "dpmpp_2m_sde_karras": (DPMSolverMultistepScheduler, {**_2M_SDE, **_KARRAS}),
    "unipc": (UniPCMultistepScheduler, _NO_KARRAS),
    "lcm": (LCMScheduler, {}),
}
# The same for flow-matching models (SD 3, Flux): the model's own shift (or dynamic shifting) is kept.
_PLAIN_FLOW = {
    "use_karras_sigmas": False,
    "use_exponential_sigmas": False,
    "use_beta_sigmas": False,
    "stochastic_sampling": False,
}
FLOW_SCHEDULER_CLASSES: dict[str, tuple[type[SchedulerMixin], dict[str, Any]]] = {
    "euler": (FlowMatchEulerDiscreteScheduler, _PLAIN_FLOW),
}


def scheduler_id_of(scheduler: SchedulerMixin) -> str:
    """The id that builds exactly ``scheduler`` (same class, every override already in its config);
    "default" when none does. Records which scheduler "Model default" really ran."""
    config: Mapping[str, Any] = scheduler.config
    for scheduler_id, (cls, overrides) in (*SCHEDULER_CLASSES.items(), *FLOW_SCHEDULER_CLASSES.items()):
        if type(scheduler) is cls and all(config.get(key) == value for key, value in overrides.items()):
            return scheduler_id
    return "default"


def seed_noise(scheduler: SchedulerMixin, seeds: tuple[int, ...]) -> None:
    """Seed a scheduler that draws its own noise (DPM++ SDE's Brownian tree), one seed per image,
    so that a seed repeats its image; the others draw from the pipeline's generators."""
    if hasattr(scheduler, "noise_sampler_seed"):
        scheduler.noise_sampler_seed = list(seeds)
        scheduler.noise_sampler = None


class SchedulerSet:
    """One scheduler per id for a loaded model, made on first use from the model's own config."""

    def __init__(self, default: SchedulerMixin, flow_matching: bool = False, family: str = "") -> None:
        """``flow_matching``: the model (``family``, named in messages) takes flow-matching schedulers only."""
        self._flow = flow_matching
        self._family = family
        self._config = dict(default.config)
        self._made: dict[str, SchedulerMixin] = {"default": default}
        self._made.setdefault(scheduler_id_of(default), default)  # the same scheduler under its own id

    def get(self, scheduler_id: str) -> SchedulerMixin:
        if scheduler_id not in SCHEDULER_IDS:
            raise InputError(f"Unknown scheduler {scheduler_id!r}; choose one of: {', '.join(SCHEDULER_IDS)}.")
        if self._flow and scheduler_id not in FLOW_MATCHING_IDS:
            names = " or ".join(scheduler_info(i).label for i in FLOW_MATCHING_IDS)
            raise InputError(
                f"The {scheduler_info(scheduler_id).label} sampler does not work with {self._family} models, "
                f"which are sampled by flow matching. Choose {names}."
            )
        if scheduler_id not in self._made:
            cls, overrides = (FLOW_SCHEDULER_CLASSES if self._flow else SCHEDULER_CLASSES)[scheduler_id]
            self._made[scheduler_id] = cls.from_config({**self._config, **overrides})
        return self._made[scheduler_id]
