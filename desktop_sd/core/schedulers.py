"""Scheduler ids the app offers, with the names AUTOMATIC1111 writes for them.

The engine maps each id to a diffusers scheduler class; the library writes
the A1111 display name into image metadata; the UI lists them.
"""

from __future__ import annotations

from typing import NamedTuple


class SchedulerInfo(NamedTuple):
    id: str
    label: str  # shown in the UI
    a1111_sampler: str  # A1111 "Sampler:" value
    a1111_schedule: str  # A1111 "Schedule type:" value ("" = Automatic)


SCHEDULERS: tuple[SchedulerInfo, ...] = (
    SchedulerInfo("default", "Model default", "", ""),
    SchedulerInfo("ddim", "DDIM", "DDIM", ""),
    SchedulerInfo("lms", "LMS", "LMS", ""),
    SchedulerInfo("euler", "Euler", "Euler", ""),
    SchedulerInfo("euler_a", "Euler a", "Euler a", ""),
    SchedulerInfo("heun", "Heun", "Heun", ""),
    SchedulerInfo("dpm2", "DPM2", "DPM2", ""),
    SchedulerInfo("dpm2_a", "DPM2 a", "DPM2 a", ""),
    SchedulerInfo("dpmpp_2m", "DPM++ 2M", "DPM++ 2M", ""),
    SchedulerInfo("dpmpp_2m_karras", "DPM++ 2M Karras", "DPM++ 2M", "Karras"),
    SchedulerInfo("dpmpp_sde_karras", "DPM++ SDE Karras", "DPM++ SDE", "Karras"),
    SchedulerInfo("unipc", "UniPC", "UniPC", ""),
    SchedulerInfo("lcm", "LCM", "LCM", ""),
)

SCHEDULER_IDS: tuple[str, ...] = tuple(s.id for s in SCHEDULERS)


def scheduler_info(scheduler_id: str) -> SchedulerInfo:
    for info in SCHEDULERS:
        if info.id == scheduler_id:
            return info
    names = ", ".join(SCHEDULER_IDS)
    raise ValueError(f"unknown scheduler {scheduler_id!r}; choose one of: {names}")


def from_a1111(sampler: str, schedule: str = "") -> str | None:
    """Our scheduler id for an A1111 sampler name (old names fold in 'Karras')."""
    sampler = sampler.strip()
    if sampler.endswith(" Karras"):
        sampler, schedule = sampler[: -len(" Karras")], "Karras"
    schedule = "" if schedule in ("", "Automatic") else schedule
    for info in SCHEDULERS[1:]:
        if info.a1111_sampler == sampler and info.a1111_schedule == schedule:
            return info.id
    for info in SCHEDULERS[1:]:
        if info.a1111_sampler == sampler:
            return info.id
    return None
