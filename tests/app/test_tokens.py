"""Prompt token counts: exact with the shipped CLIP merges, estimated without them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop_sd.app.tokens import ClipBpe, TokenCounter, estimate_tokens
from desktop_sd.core import paths

TOKENIZER = paths.resources_dir() / "model-configs" / "sd1" / "tokenizer"
PROMPTS = [
    "a photo of a cat",
    "A majestic, ultra-detailed portrait of an astronaut riding a horse on Mars; 8k, trending on artstation!!",
    "café 東京 😀 naïve ((masterpiece:1.2)), 1990s",
    "it's don't you'll",
    "hello_world  foo--bar 12345",
]


@pytest.mark.skipif(not TOKENIZER.is_dir(), reason="no shipped SD 1.x tokenizer")
def test_counts_match_the_real_clip_tokenizer() -> None:
    transformers = pytest.importorskip("transformers")
    reference = transformers.CLIPTokenizerFast.from_pretrained(str(TOKENIZER))
    bpe = ClipBpe.from_folder(TOKENIZER)
    assert bpe is not None
    for prompt in PROMPTS:
        assert bpe.count(prompt) == len(reference(prompt)["input_ids"]) - 2, prompt


def test_merges_txt_is_read_too(tmp_path: Path) -> None:
    (tmp_path / "merges.txt").write_text("#version: 0.2\nc a\nca t</w>\n", encoding="utf-8")
    bpe = ClipBpe.from_folder(tmp_path)
    assert bpe is not None
    assert bpe.count("cat") == 1  # c+a, then ca+t</w>
    assert bpe.count("tac") == 3


def test_estimate_is_close_for_ordinary_prompts() -> None:
    assert estimate_tokens("a photo of a cat") == 5
    assert estimate_tokens("") == 0
    long = ", ".join(["masterpiece"] * 40)
    assert estimate_tokens(long) > 75


def test_counter_is_estimated_until_the_merges_load_in_the_background(qtbot: QtBot) -> None:
    if not TOKENIZER.is_dir():
        pytest.skip("no shipped SD 1.x tokenizer")
    counter = TokenCounter(TOKENIZER)
    assert counter.count("a photo of a cat") == (5, False)
    with qtbot.waitSignal(counter.ready, timeout=20_000):
        counter.load_in_background()
    assert counter.exact and counter.count("a photo of a cat") == (5, True)


def test_counter_without_a_tokenizer_stays_estimated(tmp_path: Path) -> None:
    counter = TokenCounter(tmp_path / "missing")
    counter.load_now()
    assert not counter.exact and counter.count("a photo of a cat")[1] is False
