"""Scheduler ids (``core.schedulers``) to diffusers schedulers built from the model's own config.

Switching is a new scheduler object over the same model: nothing is reloaded.
The model's config keeps what matters to it (beta schedule, prediction type,
timestep spacing for Turbo models); each id overrides only what defines it.
"""

from __future__ import annotations

from typing import Any

from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
    KDPM2AncestralDiscreteScheduler,
    KDPM2DiscreteScheduler,
    LCMScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_lms_discrete import LMSDiscreteScheduler as _LMSDiscreteScheduler
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from numpy.polynomial import Polynomial

from desktop_sd.core.errors import InputError
from desktop_sd.core.schedulers import SCHEDULER_IDS

_NO_KARRAS = {"use_karras_sigmas": False}


class LMSDiscreteScheduler(_LMSDiscreteScheduler):  # type: ignore[misc]  # a base of type Any: diffusers is not followed
    """diffusers' LMS with its coefficient integrated exactly, without scipy.

    The integrand is a polynomial in sigma (a Lagrange basis polynomial), so its
    integral needs no numerical quadrature; diffusers calls ``scipy.integrate.quad``.
    """

    def get_lms_coefficient(self, order: int, t: int, current_order: int) -> float:
        sigmas = [float(s) for s in self.sigmas]
        basis = Polynomial([1.0])
        for k in range(order):
            if k != current_order:
                basis *= Polynomial([-sigmas[t - k], 1.0]) / (sigmas[t - current_order] - sigmas[t - k])
        integral = basis.integ()
        return float(integral(sigmas[t + 1]) - integral(sigmas[t]))


# id -> (class, overrides of the model's config)
SCHEDULER_CLASSES: dict[str, tuple[type[SchedulerMixin], dict[str, Any]]] = {
    "ddim": (DDIMScheduler, {}),
    "lms": (LMSDiscreteScheduler, _NO_KARRAS),
    "euler": (EulerDiscreteScheduler, _NO_KARRAS),
    "euler_a": (EulerAncestralDiscreteScheduler, {}),
    "heun": (HeunDiscreteScheduler, _NO_KARRAS),
    "dpm2": (KDPM2DiscreteScheduler, _NO_KARRAS),
    "dpm2_a": (KDPM2AncestralDiscreteScheduler, _NO_KARRAS),
    "dpmpp_2m": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2, **_NO_KARRAS}),
    "dpmpp_2m_karras": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    # DPM++ SDE proper needs torchsde (Brownian tree noise); the SDE variant of the
    # multistep solver draws its noise from our seeded generator instead.
    "dpmpp_sde_karras": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "sde-dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    "unipc": (UniPCMultistepScheduler, _NO_KARRAS),
    "lcm": (LCMScheduler, {}),
}


class SchedulerSet:
    """One scheduler per id for a loaded model, made on first use from the model's own config."""

    def __init__(self, default: SchedulerMixin) -> None:
        self._config = dict(default.config)
        self._made: dict[str, SchedulerMixin] = {"default": default}

    def get(self, scheduler_id: str) -> SchedulerMixin:
        if scheduler_id not in SCHEDULER_IDS:
            raise InputError(f"Unknown scheduler {scheduler_id!r}; choose one of: {', '.join(SCHEDULER_IDS)}.")
        if scheduler_id not in self._made:
            cls, overrides = SCHEDULER_CLASSES[scheduler_id]
            self._made[scheduler_id] = cls.from_config({**self._config, **overrides})
        return self._made[scheduler_id]
