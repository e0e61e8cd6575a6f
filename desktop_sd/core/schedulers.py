"""Scheduler ids the app offers, with the names AUTOMATIC1111 writes for them.

The engine maps each id to a diffusers scheduler class; the library writes
the A1111 display name into image metadata; the UI lists them. Every id but
"default" has exactly one (sampler, schedule type) pair, so the mapping holds
both ways (``from_a1111``).
"""

from __future__ import annotations

from typing import NamedTuple

AUTOMATIC = "Automatic"  # A1111's "Schedule type" when the sampler's own schedule runs


class SchedulerInfo(NamedTuple):
    id: str
    label: str  # shown in the UI
    a1111_sampler: str  # A1111 "Sampler:" value
    a1111_schedule: str  # A1111 "Schedule type:" value


SCHEDULERS: tuple[SchedulerInfo, ...] = (
    # The model's own scheduler: the engine records the id it resolves to (see engine.schedulers).
    SchedulerInfo("default", "Model default", "", ""),
    SchedulerInfo("pndm", "PNDM (PLMS)", "PLMS", AUTOMATIC),
    SchedulerInfo("ddim", "DDIM", "DDIM", AUTOMATIC),
    SchedulerInfo("lms", "LMS", "LMS", AUTOMATIC),
    SchedulerInfo("euler", "Euler", "Euler", AUTOMATIC),
    SchedulerInfo("euler_a", "Euler a", "Euler a", AUTOMATIC),
    SchedulerInfo("heun", "Heun", "Heun", AUTOMATIC),
    SchedulerInfo("dpm2", "DPM2", "DPM2", AUTOMATIC),
    SchedulerInfo("dpm2_a", "DPM2 a", "DPM2 a", AUTOMATIC),
    SchedulerInfo("dpmpp_2m", "DPM++ 2M", "DPM++ 2M", AUTOMATIC),
    SchedulerInfo("dpmpp_2m_karras", "DPM++ 2M Karras", "DPM++ 2M", "Karras"),
    SchedulerInfo("dpmpp_sde", "DPM++ SDE", "DPM++ SDE", AUTOMATIC),
    SchedulerInfo("dpmpp_sde_karras", "DPM++ SDE Karras", "DPM++ SDE", "Karras"),
    SchedulerInfo("dpmpp_2m_sde", "DPM++ 2M SDE", "DPM++ 2M SDE", AUTOMATIC),
    SchedulerInfo("dpmpp_2m_sde_karras", "DPM++ 2M SDE Karras", "DPM++ 2M SDE", "Karras"),
    SchedulerInfo("unipc", "UniPC", "UniPC", AUTOMATIC),
    SchedulerInfo("lcm", "LCM", "LCM", AUTOMATIC),
)

SCHEDULER_IDS: tuple[str, ...] = tuple(s.id for s in SCHEDULERS)

# Flow-matching models (SD 3, Flux) are sampled along a straight path from noise to image; the
# noise-prediction schedulers above do not apply to them. "euler" is the flow-matching Euler for them.
FLOW_MATCHING_FAMILIES = frozenset({"sd3", "flux"})  # ``core.request.Family`` values
FLOW_MATCHING_IDS: tuple[str, ...] = ("default", "euler")


def scheduler_ids_for(family: str) -> tuple[str, ...]:
    """The scheduler ids that work with a model family (a ``core.request.Family`` value)."""
    return FLOW_MATCHING_IDS if family in FLOW_MATCHING_FAMILIES else SCHEDULER_IDS


def scheduler_info(scheduler_id: str) -> SchedulerInfo:
    for info in SCHEDULERS:
        if info.id == scheduler_id:
            return info
    names = ", ".join(SCHEDULER_IDS)
    raise ValueError(f"unknown scheduler {scheduler_id!r}; choose one of: {names}")


def from_a1111(sampler: str, schedule: str = "") -> str | None:
    """Our scheduler id for an A1111 sampler name and schedule type (old names fold in 'Karras')."""
    sampler = sampler.strip()
    schedule = schedule.strip()
    if sampler.endswith(" Karras"):
        sampler, schedule = sampler[: -len(" Karras")], "Karras"
    schedule = schedule or AUTOMATIC
    for info in SCHEDULERS[1:]:
        if info.a1111_sampler == sampler and info.a1111_schedule == schedule:
            return info.id
    for info in SCHEDULERS[1:]:  # a schedule we have no variant for: the sampler's own
        if info.a1111_sampler == sampler and info.a1111_schedule == AUTOMATIC:
            return info.id
    return None
