"""Every scheduler id runs on the loaded model without reloading it."""

from __future__ import annotations

import pytest
import torch
from diffusers import DDIMScheduler, DPMSolverSDEScheduler, LMSDiscreteScheduler, PNDMScheduler

from desktop_sd.core.errors import InputError
from desktop_sd.core.inputs import PipelineKind
from desktop_sd.core.request import GenerationRequest
from desktop_sd.core.schedulers import SCHEDULER_IDS
from desktop_sd.engine import Engine
from desktop_sd.engine.schedulers import SCHEDULER_CLASSES, SchedulerSet, scheduler_id_of
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import max_diff, pixels, run


def test_every_scheduler_makes_an_image_without_reloading(tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model, device="cpu")
    images = {}
    for scheduler_id in SCHEDULER_IDS:
        result = run(engine, tiny_request.replace(scheduler=scheduler_id, steps=3))
        array = pixels(result.images[0])
        assert result.images[0].size == (64, 64), scheduler_id
        assert array.std() > 1, f"{scheduler_id} gave a flat image"
        images[scheduler_id] = result.images[0]
        pipe = engine._model.pipeline(PipelineKind.TXT2IMG)  # the scheduler really in use
        expected = type(pipe.scheduler).__name__
        if scheduler_id != "default":
            assert expected == SCHEDULER_CLASSES[scheduler_id][0].__name__
    assert engine.loads == 1
    assert max_diff(images["euler"], images["euler_a"]) > 0
    assert max_diff(images["dpmpp_2m"], images["dpmpp_2m_karras"]) > 0


def test_karras_variants_use_karras_sigmas() -> None:
    base = DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    schedulers = SchedulerSet(base)
    assert schedulers.get("dpmpp_2m_karras").config.use_karras_sigmas is True
    assert schedulers.get("dpmpp_2m").config.use_karras_sigmas is False
    two_m_sde = schedulers.get("dpmpp_2m_sde_karras").config
    assert two_m_sde.algorithm_type == "sde-dpmsolver++" and two_m_sde.use_karras_sigmas is True
    assert schedulers.get("dpmpp_2m_sde").config.use_karras_sigmas is False
    assert isinstance(schedulers.get("dpmpp_sde_karras"), DPMSolverSDEScheduler)  # A1111's DPM++ SDE (torchsde)
    assert schedulers.get("dpmpp_sde_karras").config.use_karras_sigmas is True
    assert isinstance(schedulers.get("lms"), LMSDiscreteScheduler)  # diffusers' own (scipy)
    assert schedulers.get("default") is base
    assert schedulers.get("euler") is schedulers.get("euler")  # made once, reused
    with pytest.raises(InputError, match="Unknown scheduler"):
        schedulers.get("k_euler_bogus")


def test_lms_steps_a_sample() -> None:
    lms = LMSDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    lms.set_timesteps(4)
    sample = torch.zeros(1, 4, 8, 8)
    for t in lms.timesteps:
        model_input = lms.scale_model_input(sample, t)
        sample = lms.step(torch.ones_like(model_input), t, sample).prev_sample
    assert torch.isfinite(sample).all()


def test_switching_keeps_what_the_model_needs() -> None:
    """v-prediction (SD 2.x 768) and trailing timesteps (Turbo) survive every switch that supports them."""
    from diffusers import EulerAncestralDiscreteScheduler

    base = EulerAncestralDiscreteScheduler(
        beta_schedule="scaled_linear", prediction_type="v_prediction", timestep_spacing="trailing"
    )
    schedulers = SchedulerSet(base)
    for scheduler_id in SCHEDULER_IDS:
        config = schedulers.get(scheduler_id).config
        if "prediction_type" in config:
            assert config.prediction_type == "v_prediction", scheduler_id
        if "timestep_spacing" in config:
            assert config.timestep_spacing == "trailing", scheduler_id


def test_the_model_default_is_recorded_as_the_id_that_ran(tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model, device="cpu")
    result = run(engine, tiny_request.replace(scheduler="default"))
    default = engine._model.schedulers.get("default")
    assert result.request.scheduler == scheduler_id_of(default) != "default"
    assert engine._model.schedulers.get(result.request.scheduler) is default  # the same object: same images


def test_default_schedulers_of_common_models_map_to_their_a1111_names() -> None:
    sd15 = PNDMScheduler(beta_schedule="scaled_linear", skip_prk_steps=True, steps_offset=1)
    assert scheduler_id_of(sd15) == "pndm"  # A1111's "PLMS"
    assert scheduler_id_of(DDIMScheduler()) == "ddim"
    assert scheduler_id_of(PNDMScheduler(skip_prk_steps=False)) == "default"  # nothing builds it exactly


def test_dpmpp_sde_repeats_an_image_from_its_seed(tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model, device="cpu")
    request = tiny_request.replace(scheduler="dpmpp_sde_karras", steps=3, batch_size=2)
    first, second = run(engine, request), run(engine, request)
    assert max_diff(first.images[0], second.images[0]) == 0 and max_diff(first.images[1], second.images[1]) == 0
    other = run(engine, request.replace(seed=43))
    assert max_diff(first.images[0], other.images[0]) > 0
