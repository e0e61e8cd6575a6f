"""The parameter table is what the validator, the seed and the outpaint strength rule go by."""

from __future__ import annotations

import pytest
from PIL import Image

from desktop_sd.core import params
from desktop_sd.core.errors import InputError
from desktop_sd.core.params import HEIGHT, NUMBER_PARAMS, SEED, STRENGTH, WIDTH, NumberParam, draw_seed
from desktop_sd.core.request import Borders, GenerationRequest, Mode, strength_for
from desktop_sd.core.validation import check_request

NUMBERS = list(NUMBER_PARAMS.values())


def request_with(spec: NumberParam[int] | NumberParam[float], value: float) -> GenerationRequest:
    """A request that is valid but for ``value``; strength is only checked where there is an init image."""
    if spec is STRENGTH:
        return GenerationRequest(Mode.IMG2IMG, "p", init_image=Image.new("RGB", (64, 64)), strength=value)
    return GenerationRequest(Mode.TXT2IMG, "p", **{spec.name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", NUMBERS, ids=lambda s: s.name)
def test_the_validator_accepts_the_table_range_and_refuses_one_step_outside(
    spec: NumberParam[int] | NumberParam[float],
) -> None:
    for value in (spec.minimum, spec.maximum, spec.default):
        checked, notices = check_request(request_with(spec, value))
        assert getattr(checked, spec.name) == value and not notices
    for value in (spec.minimum - spec.step, spec.maximum + spec.step):
        with pytest.raises(InputError, match=spec.label):
            check_request(request_with(spec, value))


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (params.STEPS, 0, "Steps must be between 1 and 500, got 0."),
        (params.CFG_SCALE, 30.5, "CFG scale must be between 0 and 30, got 30.5."),
        (params.MASK_FEATHER, 9, "Mask feather must be between 0 and 8 pixels, got 9."),
        (params.BATCH_SIZE, 17, "Batch size must be between 1 and 16, got 17."),
        (SEED, -1, "Seed must be between 0 and 4294967295, got -1."),
        (WIDTH, 4104, "Width 4104 is out of range: choose 64 to 4096 pixels."),
        (HEIGHT, 56, "Height 56 is out of range: choose 64 to 4096 pixels."),
    ],
)
def test_range_messages_name_the_bounds(
    spec: NumberParam[int] | NumberParam[float], value: float, message: str
) -> None:
    with pytest.raises(InputError) as refused:
        check_request(request_with(spec, value))
    assert str(refused.value) == message


def test_sides_off_the_step_are_snapped_to_it_with_a_notice() -> None:
    checked, notices = check_request(request_with(WIDTH, WIDTH.minimum + WIDTH.step + 3))
    assert checked.width % WIDTH.step == 0
    assert notices == [f"Width {WIDTH.minimum + WIDTH.step + 3} is not a multiple of 8; using {checked.width}."]


def test_outpaint_strength_is_checked_like_the_other_modes() -> None:
    outpaint = GenerationRequest(
        Mode.OUTPAINT, "p", init_image=Image.new("RGB", (64, 64)), outpaint=Borders(8), strength=0.0
    )
    with pytest.raises(InputError) as refused:
        check_request(outpaint)
    assert str(refused.value) == "Strength must be between 0.01 and 1, got 0.0."
    check_request(outpaint.replace(strength=STRENGTH.maximum))


def test_txt2img_ignores_strength() -> None:
    check_request(GenerationRequest(Mode.TXT2IMG, "p", strength=0.0))


def test_outpainting_runs_at_full_strength_unless_one_is_given() -> None:
    assert strength_for(Mode.OUTPAINT, None) == 1.0
    assert strength_for(Mode.OUTPAINT, 0.3) == 0.3
    assert strength_for(Mode.IMG2IMG, None) == strength_for(Mode.INPAINT, None) == STRENGTH.default
    assert strength_for(Mode.INPAINT, 0.4) == 0.4


def test_drawn_seeds_cover_the_range_the_validator_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = {draw_seed() for _ in range(50)}
    assert len(seeds) > 1 and all(SEED.accepts(s) for s in seeds)
    for pick, expected in ((lambda n: 0, SEED.minimum), (lambda n: n - 1, SEED.maximum)):  # the extreme draws
        monkeypatch.setattr(params.secrets, "randbelow", pick)
        assert draw_seed() == expected
        assert check_request(GenerationRequest(Mode.TXT2IMG, "p", seed=expected))[0].seed == expected


@pytest.mark.parametrize("spec", NUMBERS, ids=lambda s: s.name)
def test_clamping_keeps_the_type_and_the_range(spec: NumberParam[int] | NumberParam[float]) -> None:
    low, high = spec.clamp(spec.minimum - 10 * spec.step), spec.clamp(spec.maximum * 2 + 1)
    assert (low, high) == (spec.minimum, spec.maximum)
    assert type(low) is type(high) is type(spec.default)


def test_batch_seeds_stay_in_the_range_seed_accepts() -> None:
    from desktop_sd.core.request import batch_seeds

    assert batch_seeds(5, 3) == (5, 6, 7)
    wrapped = batch_seeds(SEED.maximum, 2)
    assert wrapped == (SEED.maximum, 0)
    assert all(SEED.accepts(s) for s in wrapped)  # every recorded seed can be given back to --seed
