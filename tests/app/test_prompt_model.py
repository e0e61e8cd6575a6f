"""Prompt settings: what survives a damaged settings file, seeds, reuse of a request."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from desktop_sd.app.prompt_model import PromptModel, PromptValues
from desktop_sd.core import params
from desktop_sd.core.params import NUMBER_PARAMS, SEED, NumberParam
from desktop_sd.core.request import GenerationRequest, Mode


def test_saved_values_round_trip() -> None:
    values = PromptValues(prompt="a fox", steps=8, seed=42, random_seed=False, width=768, scheduler="euler_a")
    assert PromptValues.from_dict(values.to_dict()) == values


def test_damaged_saved_values_fall_back_or_are_clamped() -> None:
    values = PromptValues.from_dict(
        {
            "prompt": 5,
            "steps": 100000,
            "cfg_scale": "high",
            "width": -3,
            "scheduler": "nope",
            "random_seed": 1,
            "batch_size": True,
            "negative_prompt": "blurry",
        }
    )
    defaults = PromptValues()
    assert values.prompt == defaults.prompt and values.cfg_scale == defaults.cfg_scale
    assert values.steps == 500 and values.width == 64
    assert values.scheduler == defaults.scheduler and values.random_seed is defaults.random_seed
    assert values.batch_size == defaults.batch_size and values.negative_prompt == "blurry"
    assert PromptValues.from_dict(["not", "a", "dict"]) == defaults


def test_a_random_seed_is_drawn_when_the_job_is_made_and_a_fixed_one_kept() -> None:
    random_seeds = {PromptValues(random_seed=True).to_request().seed for _ in range(5)}
    assert len(random_seeds) > 1 and all(s is not None and 0 <= s < 2**64 for s in random_seeds)
    assert PromptValues(seed=7, random_seed=False).to_request().seed == 7


@pytest.mark.parametrize("spec", NUMBER_PARAMS.values(), ids=lambda s: s.name)
def test_saved_numbers_are_clamped_to_the_table_range(spec: NumberParam[int] | NumberParam[float]) -> None:
    low = PromptValues.from_dict({spec.name: spec.minimum - 10 * spec.step})
    high = PromptValues.from_dict({spec.name: spec.maximum + 10 * spec.step})
    assert (getattr(low, spec.name), getattr(high, spec.name)) == (spec.minimum, spec.maximum)


def test_the_panel_defaults_make_the_same_request_as_the_request_defaults() -> None:
    from_panel = PromptValues(random_seed=False).to_request().parameters()
    plain = GenerationRequest(Mode.TXT2IMG, "").parameters()
    assert {**from_panel, "seed": None} == plain


def test_random_seeds_come_from_the_one_seed_draw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(params.secrets, "randbelow", lambda n: n - 1)
    assert PromptValues(random_seed=True).to_request().seed == SEED.maximum


def test_the_last_seed_is_one_call_away(qtbot: QtBot) -> None:
    model = PromptModel()
    model.reuse_last_seed()  # nothing yet: no change
    assert model.values.random_seed
    with qtbot.waitSignal(model.last_seed_changed):
        model.set_last_seed(1234)
    with qtbot.waitSignal(model.changed) as changed:
        model.reuse_last_seed()
    assert changed.args[0].seed == 1234 and not changed.args[0].random_seed


def test_update_emits_only_on_a_real_change(qtbot: QtBot) -> None:
    model = PromptModel()
    seen: list[PromptValues] = []
    model.changed.connect(seen.append)
    model.update(steps=20)  # the default already
    model.update(steps=30)
    assert [v.steps for v in seen] == [30]


def test_reusing_a_request_takes_its_parameters() -> None:
    request = GenerationRequest(
        Mode.IMG2IMG,
        "a boat",
        negative_prompt="fog",
        model="m2",
        width=640,
        height=448,
        steps=12,
        cfg_scale=5.5,
        seed=99,
        scheduler="ddim",
        strength=0.4,
        batch_size=2,
    )
    values = PromptValues.from_request(request, PromptValues(model="m1"))
    assert (values.prompt, values.negative_prompt, values.model) == ("a boat", "fog", "m2")
    assert (values.width, values.height, values.steps, values.cfg_scale) == (640, 448, 12, 5.5)
    assert (values.seed, values.random_seed, values.scheduler, values.strength) == (99, False, "ddim", 0.4)
