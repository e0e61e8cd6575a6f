"""Every scheduler id names exactly one A1111 sampler and schedule type, and back."""

from __future__ import annotations

from desktop_sd.core.schedulers import AUTOMATIC, SCHEDULERS, from_a1111


def test_every_id_maps_to_one_a1111_pair_and_back() -> None:
    pairs = [(info.a1111_sampler, info.a1111_schedule) for info in SCHEDULERS[1:]]
    assert len(set(pairs)) == len(pairs)
    for info in SCHEDULERS[1:]:
        assert from_a1111(info.a1111_sampler, info.a1111_schedule) == info.id
    assert from_a1111("DPM++ 2M SDE", "Karras") == "dpmpp_2m_sde_karras"
    assert from_a1111("DPM++ SDE", "Karras") == "dpmpp_sde_karras"  # not the 2M SDE solver
    assert from_a1111("PLMS") == "pndm"


def test_old_names_and_unknown_schedules() -> None:
    assert from_a1111("DPM++ 2M Karras") == "dpmpp_2m_karras"  # before "Schedule type" existed
    assert from_a1111("Euler", "") == from_a1111("Euler", AUTOMATIC) == "euler"
    assert from_a1111("Euler", "Exponential") == "euler"  # a schedule we lack: the sampler's own
    assert from_a1111("Restart") is None
