"""What we write must read back exactly, in A1111's own layout, by our reader and by Pillow."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from desktop_sd.core.request import Borders, GenerationRequest, Mode
from desktop_sd.library.metadata import (
    A1111_CHUNK,
    JSON_CHUNK,
    a1111_parameters,
    model_display_name,
    png_info,
    read_parameters,
)
from desktop_sd.library.read_a1111 import parse_a1111, parse_parameter_line
from tests.library.helpers import make_request


def test_layout_matches_the_a1111_example_line_for_line() -> None:
    request = GenerationRequest(
        mode=Mode.IMG2IMG,
        prompt="a castle on a hill",
        negative_prompt="lowres",
        width=512,
        height=768,
        steps=20,
        cfg_scale=7.0,
        seed=1234,
        scheduler="dpmpp_2m_karras",
        strength=0.5,
    )
    text = a1111_parameters(request, "/models/dreamshaper_8.safetensors", "0.1.0", "c0d1994c73")
    assert text.split("\n") == [
        "a castle on a hill",
        "Negative prompt: lowres",
        "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 512x768, "
        "Model hash: c0d1994c73, Model: dreamshaper_8, Denoising strength: 0.5, Version: desktop-sd 0.1.0",
    ]


def test_txt2img_has_no_strength_and_no_negative_line_when_empty() -> None:
    text = a1111_parameters(make_request(negative_prompt="", scheduler="euler"), "tiny-sd")
    assert text == (
        "a red fox in the snow\nSteps: 4, Sampler: Euler, Schedule type: Automatic, CFG scale: 7.5, Seed: 1234, "
        "Size: 64x64, Model: tiny-sd"
    )


def test_inpaint_writes_strength_then_mask_blur() -> None:
    text = a1111_parameters(make_request(mode=Mode.INPAINT, strength=0.8, mask_feather=6), "m")
    assert text.endswith("Model: m, Denoising strength: 0.8, Mask blur: 6")


def test_a_request_never_run_with_the_model_default_writes_no_sampler() -> None:
    # The engine replaces "default" by the id that ran (tests/engine), so only such a request has none.
    params = parse_parameter_line(a1111_parameters(make_request(scheduler="default"), "m").split("\n")[-1])
    assert "Sampler" not in params and params["Steps"] == "4"


def test_values_with_commas_or_colons_are_quoted_as_a1111_does() -> None:
    text = a1111_parameters(make_request(), "owner/odd, name:v2")
    assert text.split("\n")[-1].endswith('Model: "owner/odd, name:v2"')
    parsed = parse_a1111(text)
    assert parsed is not None and parsed.model == "owner/odd, name:v2" and parsed.seed == 1234
    plain = a1111_parameters(make_request(), "owner/plain-name")
    assert plain.split("\n")[-1].endswith("Model: owner/plain-name")


def test_empty_prompt_starts_with_the_negative_line_like_a1111() -> None:
    text = a1111_parameters(make_request(prompt=""), "m")
    assert text.startswith("Negative prompt: blurry\nSteps: 4")
    parsed = parse_a1111(text)
    assert parsed is not None and parsed.prompt == "" and parsed.negative_prompt == "blurry"


@pytest.mark.parametrize(
    ("model", "shown"),
    [
        ("/home/me/models/dreamshaper_8.safetensors", "dreamshaper_8"),
        ("C:\\models\\v1-5-pruned.ckpt", "v1-5-pruned"),
        ("/home/me/models/tiny-sd", "tiny-sd"),
        ("runwayml/stable-diffusion-v1-5", "runwayml/stable-diffusion-v1-5"),
        ("sd15", "sd15"),
        ("", ""),
    ],
)
def test_model_name_is_what_a1111_shows(model: str, shown: str) -> None:
    assert model_display_name(model) == shown


@pytest.mark.parametrize(
    "request_",
    [
        make_request(),
        make_request(prompt="multi\nline prompt, (weighted:1.2)", negative_prompt="bad\nhands"),
        make_request(prompt="猫と犬 🐱 — «quotes» \"and\" 'more'", negative_prompt="שלום"),
        make_request(mode=Mode.IMG2IMG, strength=0.35, scheduler="dpmpp_sde_karras"),
        make_request(mode=Mode.INPAINT, strength=1.0, scheduler="lms", cfg_scale=0.0),
        make_request(mode=Mode.OUTPAINT, outpaint=Borders(64, 0, 64, 0), scheduler="unipc"),
        make_request(seed=2**32 - 1, width=1024, height=576, steps=150, scheduler="ddim"),
        make_request(seed=2**64 - 1, scheduler="dpmpp_2m_sde_karras"),
        make_request(seed=6952411511246973023, scheduler="pndm"),
    ],
)
def test_parameters_round_trip_through_our_a1111_parser(request_: GenerationRequest) -> None:
    text = a1111_parameters(request_, "tiny-sd", "0.1.0")
    parsed = parse_a1111(text)
    assert parsed is not None
    assert parsed.prompt == request_.prompt
    assert parsed.negative_prompt == request_.negative_prompt
    assert (parsed.steps, parsed.cfg_scale, parsed.seed) == (request_.steps, request_.cfg_scale, request_.seed)
    assert (parsed.width, parsed.height) == (request_.width, request_.height)
    assert parsed.scheduler == request_.scheduler
    assert parsed.model == "tiny-sd"
    if request_.mode is Mode.TXT2IMG:
        assert parsed.strength is None and parsed.mode is Mode.TXT2IMG
    else:
        assert parsed.strength == request_.strength
        assert parsed.mode in (Mode.IMG2IMG, Mode.INPAINT)


def _png_bytes(request: GenerationRequest) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "blue").save(buffer, "PNG", pnginfo=png_info(request, "tiny-sd", "0.1.0"))
    return buffer.getvalue()


def test_png_carries_both_chunks_in_sync(tmp_path: Path) -> None:
    request = make_request(prompt="ünïcødé 雪 fox")
    path = tmp_path / "out.png"
    path.write_bytes(_png_bytes(request))
    with Image.open(path) as image:
        chunks = dict(image.text)
    assert chunks[A1111_CHUNK] == a1111_parameters(request, "tiny-sd", "0.1.0")
    assert json.loads(chunks[JSON_CHUNK])["request"] == request.parameters()
    parsed = read_parameters(path)
    assert parsed is not None and parsed.source == "Desktop SD"
    again = parsed.to_request()
    assert again.parameters() == request.parameters()
