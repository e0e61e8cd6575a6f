"""``Clip skip`` and ``TI hashes`` written as A1111 writes them, and read back into the request."""

from __future__ import annotations

import io

from PIL import Image

from desktop_sd.core.prompt_syntax import embedding_names
from desktop_sd.core.request import GenerationRequest
from desktop_sd.library.metadata import A1111_CHUNK, a1111_parameters, encode_png, read_parameters
from desktop_sd.library.read_a1111 import parse_a1111
from tests.library.helpers import make_request


def test_clip_skip_and_ti_hashes_follow_the_a1111_layout() -> None:
    request = make_request(clip_skip=2, ti_hashes="easynegative: c74b4e810b, bad-hands-5: aa7651be15")
    line = a1111_parameters(request, "m", "0.1.0").splitlines()[-1]
    assert line.endswith(
        'Model: m, Clip skip: 2, TI hashes: "easynegative: c74b4e810b, bad-hands-5: aa7651be15", '
        "Version: desktop-sd 0.1.0"
    )


def test_clip_skip_1_and_no_embeddings_write_nothing() -> None:
    text = a1111_parameters(make_request(), "m")
    assert "Clip skip" not in text and "TI hashes" not in text


def test_our_png_reads_back_the_same_request() -> None:
    request = make_request(clip_skip=3, ti_hashes="neg: 0123456789", prompt_weights=False)
    with Image.open(io.BytesIO(encode_png(Image.new("RGB", (8, 8)), request, "m"))) as image:
        parsed = read_parameters(image)
        text = image.info[A1111_CHUNK]
    assert parsed is not None
    back = parsed.to_request()
    assert (back.clip_skip, back.ti_hashes, back.prompt_weights) == (3, "neg: 0123456789", False)
    # The A1111 text alone (another tool's image, or ours without the JSON) gives the same.
    foreign = parse_a1111(text)
    assert foreign is not None
    again = foreign.to_request()
    assert (again.clip_skip, again.ti_hashes) == (3, "neg: 0123456789")


def test_an_a1111_image_without_the_keys_gets_the_defaults() -> None:
    parsed = parse_a1111("a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Clip skip: 99")
    assert parsed is not None
    request = parsed.to_request()
    assert request.clip_skip == GenerationRequest.clip_skip  # out of range: ignored
    assert request.ti_hashes == ""


def test_embedding_names_are_read_from_ti_hashes() -> None:
    assert embedding_names("easynegative: c74b4e810b, bad-hands-5: aa7651be15") == ["easynegative", "bad-hands-5"]
    assert embedding_names("") == []
