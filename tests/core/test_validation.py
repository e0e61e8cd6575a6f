from __future__ import annotations

import pytest
from PIL import Image

from desktop_sd.core.errors import InputError
from desktop_sd.core.request import Borders, GenerationRequest, Mode
from desktop_sd.core.validation import check_request


def txt(**kw: object) -> GenerationRequest:
    kw.setdefault("prompt", "a cat")
    return GenerationRequest(mode=Mode.TXT2IMG, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("side", [513, 520 - 3])
def test_sizes_not_multiple_of_8_are_snapped_with_a_notice(side: int) -> None:
    request, notices = check_request(txt(width=side, height=64))
    assert request.width % 8 == 0 and abs(request.width - side) <= 4
    assert any("multiple of 8" in n for n in notices)


@pytest.mark.parametrize("side", [0, -8, 16385, 40])
def test_absurd_sizes_are_rejected_before_anything_runs(side: int) -> None:
    with pytest.raises(InputError, match="out of range"):
        check_request(txt(width=side))


def test_unknown_scheduler_names_the_choices() -> None:
    with pytest.raises(InputError, match="euler_a"):
        check_request(txt(scheduler="warp-drive"))


def test_nul_characters_are_removed_with_notice() -> None:
    request, notices = check_request(txt(prompt="a\x00cat", negative_prompt="b\x00"))
    assert request.prompt == "acat" and request.negative_prompt == "b"
    assert notices


def test_emoji_and_rtl_prompts_pass_untouched() -> None:
    prompt = "a 🐱 on a roof, مرحبا, שלום"
    request, notices = check_request(txt(prompt=prompt))
    assert request.prompt == prompt and not notices


def test_modes_that_need_an_image_say_so() -> None:
    with pytest.raises(InputError, match="init image"):
        check_request(GenerationRequest(mode=Mode.IMG2IMG, prompt="x"))
    image = Image.new("RGB", (64, 64))
    with pytest.raises(InputError, match="mask"):
        check_request(GenerationRequest(mode=Mode.INPAINT, prompt="x", init_image=image))
    with pytest.raises(InputError, match="border"):
        check_request(GenerationRequest(mode=Mode.OUTPAINT, prompt="x", init_image=image, outpaint=Borders()))


def test_borders_parse_from_the_command_line_form() -> None:
    assert Borders.parse("8, 0,16,0") == Borders(8, 0, 16, 0)
    with pytest.raises(ValueError, match="L,T,R,B"):
        Borders.parse("8,8")


def test_request_parameters_round_trip() -> None:
    request = txt(seed=42, outpaint=Borders(1, 2, 3, 4), scheduler="euler_a")
    again = GenerationRequest.from_parameters(request.parameters())
    assert again.parameters() == request.parameters()


@pytest.mark.parametrize("border", [6000, 30000])
def test_an_outpaint_canvas_too_large_for_memory_is_refused_with_the_estimate(border: int) -> None:
    request = GenerationRequest(
        Mode.OUTPAINT,
        "sea",
        init_image=Image.new("RGB", (64, 64)),
        outpaint=Borders(border, border, border, border),
        strength=1.0,
    )
    with pytest.raises(InputError) as caught:
        check_request(request)
    side = 64 + 2 * border
    message = str(caught.value)
    assert f"{side}x{side}" in message and f"{side * side / 1e6:,.0f} megapixels" in message
    assert "limit is 64 megapixels" in message and "GB of memory" in message and "smaller borders" in message


def test_an_outpaint_canvas_at_the_limit_passes() -> None:
    request = GenerationRequest(
        Mode.OUTPAINT, "sea", init_image=Image.new("RGB", (64, 64)), outpaint=Borders(0, 0, 7936, 0), strength=1.0
    )
    check_request(request)  # 8000 x 64: well inside
