"""Hires fix metadata: written as A1111 writes it, read back from A1111's text and from our own."""

from __future__ import annotations

from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.library.metadata import a1111_parameters
from desktop_sd.library.read_a1111 import parse_a1111

A1111_TEXT = (
    "a castle on a hill\nNegative prompt: blurry\n"
    "Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 123, Size: 512x768, "
    "Model: dreamshaper, Denoising strength: 0.45, Hires upscale: 2, Hires steps: 15, Hires upscaler: R-ESRGAN 4x+, "
    "Version: v1.10.1"
)


def test_a1111_hires_text_is_read_back_into_the_request() -> None:
    parsed = parse_a1111(A1111_TEXT)
    assert parsed is not None and parsed.mode is Mode.TXT2IMG
    request = parsed.to_request()
    assert (request.width, request.height) == (512, 768)
    assert request.hires_scale == 2.0 and request.hires_steps == 15
    assert request.hires_strength == 0.45 and request.hires_upscaler == "R-ESRGAN 4x+"


def test_hires_keys_are_written_in_a1111_order_and_only_with_a_hires_pass() -> None:
    request = GenerationRequest(Mode.TXT2IMG, "a castle", width=512, height=768, steps=25, seed=123, scheduler="euler")
    assert "Hires" not in a1111_parameters(request, "m") and "Denoising" not in a1111_parameters(request, "m")
    hires = request.replace(hires_scale=2.0, hires_steps=0, hires_strength=0.45, hires_upscaler="Latent")
    text = a1111_parameters(hires, "m")
    assert "Size: 512x768, Model: m, Denoising strength: 0.45, Hires upscale: 2, Hires upscaler: Latent" in text
    again = parse_a1111(text)
    assert again is not None
    back = again.to_request()
    assert (back.hires_scale, back.hires_steps, back.hires_strength, back.hires_upscaler) == (2.0, 0, 0.45, "Latent")


def test_hires_values_out_of_range_are_not_taken() -> None:
    parsed = parse_a1111(A1111_TEXT.replace("Hires upscale: 2", "Hires upscale: 40"))
    assert parsed is not None and parsed.to_request().hires_scale == 1.0
