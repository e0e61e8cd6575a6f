"""Requests and images for the history store's tests."""

from __future__ import annotations

from PIL import Image

from desktop_sd.core.request import GenerationRequest, Mode


def make_request(**changes: object) -> GenerationRequest:
    base = GenerationRequest(
        mode=Mode.TXT2IMG,
        prompt="a red fox in the snow",
        negative_prompt="blurry",
        model="tiny-sd",
        width=64,
        height=64,
        steps=4,
        cfg_scale=7.5,
        seed=1234,
        scheduler="euler_a",
    )
    return base.replace(**changes)


def make_image(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 64)) -> Image.Image:
    return Image.new("RGB", size, color)
