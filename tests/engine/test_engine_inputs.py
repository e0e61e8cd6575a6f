"""Bad or odd input: fixed with a notice, or refused with a clear message before anything is allocated."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from desktop_sd.core.errors import InputError
from desktop_sd.core.request import Borders, GenerationRequest, Mode
from desktop_sd.engine import Engine
from tests.engine.helpers import gradient, pixels, run


def never_resolve(name: str):
    raise AssertionError("the model must not be looked up for a request refused up front")


@pytest.mark.parametrize("width", [0, -8, 16385, 63])
def test_absurd_sizes_are_refused_before_loading(tiny_request: GenerationRequest, width: int) -> None:
    engine = Engine(resolve=never_resolve, device="cpu")
    with pytest.raises(InputError, match=r"Width .* out of range"):
        run(engine, tiny_request.replace(width=width))
    assert engine.loads == 0


def test_sizes_are_snapped_to_multiples_of_8(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    result = run(sd_engine, tiny_request.replace(width=65, height=75))
    assert result.images[0].size == (64, 72)
    assert (result.request.width, result.request.height) == (64, 72)
    assert sum("multiple of 8" in n for n in result.notices) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps": 0}, "Steps"),
        ({"batch_size": 99}, "Batch size"),
        ({"scheduler": "warp_drive"}, "Unknown scheduler"),
        ({"mode": Mode.IMG2IMG}, "needs an init image"),
        ({"mode": Mode.IMG2IMG, "init_image": Image.new("RGB", (64, 64)), "strength": 1.5}, "Strength"),
        ({"mode": Mode.INPAINT, "init_image": Image.new("RGB", (64, 64))}, "needs a mask"),
        ({"mode": Mode.OUTPAINT, "init_image": Image.new("RGB", (64, 64))}, "border"),
        (
            {"mode": Mode.OUTPAINT, "init_image": Image.new("RGB", (64, 64)), "outpaint": Borders(8), "strength": 0},
            "Strength",
        ),
        ({"mask_feather": 30}, "feather"),
        ({"seed": -1}, "Seed"),
    ],
)
def test_bad_requests_name_the_problem(
    sd_engine: Engine, tiny_request: GenerationRequest, changes: dict, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        run(sd_engine, tiny_request.replace(**changes))


def test_empty_mask_is_refused_before_loading(tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=never_resolve, device="cpu")
    request = tiny_request.replace(mode=Mode.INPAINT, init_image=gradient(), mask=Image.new("L", (64, 64), 0))
    with pytest.raises(InputError, match="mask is empty"):
        run(engine, request)
    assert engine.loads == 0


def test_masks_of_another_size_mode_or_softness_are_fixed(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    init = gradient()
    soft = Image.new("RGB", (32, 32), (0, 0, 0))
    soft.paste((200, 200, 200), (8, 8, 20, 20))
    soft.paste((100, 100, 100), (20, 20, 24, 24))  # below 50%: not painted
    result = run(sd_engine, tiny_request.replace(mode=Mode.INPAINT, init_image=init, mask=soft, mask_feather=0))
    notices = " ".join(result.notices)
    assert "resized to 64x64" in notices and "soft values" in notices
    painted = np.zeros((64, 64), bool)
    painted[16:40, 16:40] = True
    changed = (pixels(result.images[0]) != pixels(init)).any(axis=-1)
    assert not changed[~painted].any()


def test_alpha_mask_uses_its_alpha(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    mask = Image.new("RGBA", (64, 64), (255, 255, 255, 0))
    mask.paste((255, 255, 255, 255), (0, 0, 20, 20))
    init = gradient()
    result = run(sd_engine, tiny_request.replace(mode=Mode.INPAINT, init_image=init, mask=mask, mask_feather=0))
    changed = (pixels(result.images[0]) != pixels(init)).any(axis=-1)
    assert not changed[20:, :].any() and not changed[:, 20:].any()


def _cmyk() -> Image.Image:
    return gradient().convert("CMYK")


def _sixteen_bit() -> Image.Image:
    buffer = io.BytesIO()
    Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).save(buffer, format="PNG")
    return Image.open(io.BytesIO(buffer.getvalue()))  # a real 16-bit PNG as it comes from disk


def _palette_with_transparency() -> Image.Image:
    image = gradient().convert("P")
    image.info["transparency"] = 0
    return image


def _rgba() -> Image.Image:
    image = gradient().convert("RGBA")
    image.putalpha(128)
    return image


def _exif_rotated() -> Image.Image:
    image = gradient((64, 48))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return Image.open(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize(
    ("make", "notice"),
    [
        (_cmyk, "CMYK"),
        (_sixteen_bit, "16-bit"),
        (_palette_with_transparency, "flattened"),
        (_rgba, "flattened"),
        (_exif_rotated, "EXIF"),
    ],
)
def test_odd_init_images_are_normalised(sd_engine: Engine, tiny_request: GenerationRequest, make, notice: str) -> None:
    init = make()
    request = tiny_request.replace(mode=Mode.IMG2IMG, init_image=init, width=64, height=64, strength=0.5)
    result = run(sd_engine, request)
    assert result.images[0].mode == "RGB" and result.images[0].size == (64, 64)
    assert any(notice in n for n in result.notices), result.notices


def test_init_image_of_another_size_is_scaled_with_a_notice(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    request = tiny_request.replace(mode=Mode.IMG2IMG, init_image=gradient((128, 96)), strength=0.5)
    result = run(sd_engine, request)
    assert result.images[0].size == (64, 64)
    assert any("scaled to 64x64" in n for n in result.notices)


def test_long_plain_prompt_says_what_was_cut(sd_engine: Engine, tiny_request: GenerationRequest) -> None:
    words = " ".join(["castle"] * 10)
    prompt = "a" * 60 + " " + words + " the very end"  # the byte-level tokenizer spends one token per byte
    # With A1111's syntax off only the first 75 tokens are read (on, long prompts are chunked: nothing is cut).
    request = tiny_request.replace(prompt=prompt, negative_prompt="blurry", prompt_weights=False)
    result = run(sd_engine, request)
    notes = [n for n in result.notices if "prompt is" in n]
    assert len(notes) == 1
    assert "the very end" in notes[0] and "only the first 75" in notes[0]


@pytest.mark.parametrize(
    "prompt",
    ["🦊🌨️ a fox 👍🏽", "שועל בשלג", "ثعلب في الثلج", "a fox\x00 in snow", "\x00", "", "   ", "\u202e reversed"],
)
def test_any_prompt_text_runs(sd_engine: Engine, tiny_request: GenerationRequest, prompt: str) -> None:
    result = run(sd_engine, tiny_request.replace(prompt=prompt, negative_prompt=prompt))
    assert len(result.images) == 1
    assert "\x00" not in result.request.prompt


def test_an_outpaint_canvas_larger_than_free_memory_is_refused_before_allocating(
    tiny_request: GenerationRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psutil

    from desktop_sd.core import inputs

    class Scarce:
        available = 50 * 1024**2  # 50 MB free

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Scarce())
    allocated: list[object] = []
    monkeypatch.setattr(inputs, "outpaint_canvas", lambda *args: allocated.append(args))
    engine = Engine(resolve=never_resolve, device="cpu")
    request = tiny_request.replace(
        mode=Mode.OUTPAINT, init_image=gradient(), outpaint=Borders(0, 0, 1024, 1024), strength=1.0
    )
    with pytest.raises(InputError) as caught:
        run(engine, request)
    assert "1088x1088" in str(caught.value) and "free" in str(caught.value) and "smaller borders" in str(caught.value)
    assert allocated == [] and engine.loads == 0
