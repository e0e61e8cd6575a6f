"""Prompt token counts with the ``tokenizers`` library, cut into chunks as the engine cuts them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from tokenizers import Tokenizer, models, pre_tokenizers

from desktop_sd.app.tokens import TokenCounter, estimate_tokens, read_tokenizer, shipped_tokenizer, tokenizer_folder
from desktop_sd.core.request import Family

TOKENIZER = shipped_tokenizer()
PROMPTS = [
    "a photo of a cat",
    "A majestic, ultra-detailed portrait of an astronaut riding a horse on Mars; 8k, trending on artstation!!",
    "café 東京 😀 naïve masterpiece, 1990s",
    "it's don't you'll",
    "hello_world  foo--bar 12345",
]


def loaded(folder: Path = TOKENIZER) -> TokenCounter:
    counter = TokenCounter(folder)
    counter.load_now()
    return counter


def test_plain_counts_match_the_real_clip_tokenizer() -> None:
    transformers = pytest.importorskip("transformers")
    reference = transformers.CLIPTokenizerFast.from_pretrained(str(TOKENIZER))
    counter = loaded()
    for prompt in PROMPTS:
        count = counter.count(prompt)
        assert count.exact and count.tokens == len(reference(prompt)["input_ids"]) - 2, prompt


def test_weights_and_tags_are_not_counted() -> None:
    counter = loaded()
    assert counter.count("a photo of a ((cat:1.3)), [dog] <lora:style:0.8>") == counter.count("a photo of a cat, dog")


def test_long_prompts_show_the_chunks_they_take() -> None:
    counter = loaded()
    long = ", ".join(["masterpiece"] * 41)  # 81 tokens
    count = counter.count(long)
    # The first chunk ends at its last comma (74 tokens) and counts 75, as A1111 counts it.
    assert (count.tokens, count.capacity) == (82, 150) and count.label == "82 / 150"
    assert not count.cut_off and "2 chunks" in count.tooltip
    assert counter.count("a cat BREAK a dog").label == "77 / 150"  # the first chunk counts in full, as in A1111
    counter.set_prompt_weights(False)
    plain = counter.count(long)
    assert plain.label == "81 / 75" and plain.cut_off and "cut off" in plain.tooltip


def test_a_folder_with_only_vocab_and_merges_counts_with_the_shipped_tokenizer(tmp_path: Path) -> None:
    (tmp_path / "vocab.json").write_text("{}", encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    assert read_tokenizer(tmp_path) is not None
    assert loaded(tmp_path).count("a photo of a cat").tokens == 5


def test_the_model_s_own_tokenizer_is_used(tmp_path: Path) -> None:
    own = Tokenizer(models.WordLevel({"a": 0, "cat": 1, "[UNK]": 2}, unk_token="[UNK]"))
    own.pre_tokenizer = pre_tokenizers.Whitespace()
    (tmp_path / "tokenizer").mkdir()
    own.save(str(tmp_path / "tokenizer" / "tokenizer.json"))
    assert tokenizer_folder(str(tmp_path), Family.SD1) == tmp_path / "tokenizer"
    assert tokenizer_folder("some/repo", Family.SDXL).parts[-2:] == ("sdxl", "tokenizer")
    # One token a word, where CLIP's BPE reads "astronautically" as more than one.
    assert loaded(tmp_path / "tokenizer").count("a cat astronautically").tokens == 3
    assert loaded().count("a cat astronautically").tokens > 3


def test_counter_is_estimated_until_the_tokenizer_loads_in_the_background(qtbot: QtBot) -> None:
    counter = TokenCounter(TOKENIZER)
    assert counter.count("a photo of a cat")[:3] == (5, 75, False)
    with qtbot.waitSignal(counter.ready, timeout=20_000):
        counter.load_in_background()
    assert counter.exact and counter.count("a photo of a cat").label == "5 / 75"


def test_estimate_is_close_for_ordinary_prompts() -> None:
    assert estimate_tokens("a photo of a cat") == 5
    assert estimate_tokens("") == 0
    assert estimate_tokens(", ".join(["masterpiece"] * 40)) > 75


def test_sd3_and_flux_prompts_count_with_t5_against_its_window() -> None:
    transformers = pytest.importorskip("transformers")
    from desktop_sd.app.tokens import T5_WINDOWS

    folder = tokenizer_folder("", Family.FLUX)
    assert folder.parts[-2:] == ("flux", "tokenizer_2")
    reference = transformers.T5TokenizerFast.from_pretrained(str(folder))
    counter = TokenCounter(folder)
    counter.use_folder(folder, T5_WINDOWS[Family.FLUX])
    counter.load_now()
    # a Flux-style prompt: long natural language, read whole by T5 (CLIP's 75 would cut it)
    prompt = " ".join(["a weathered lighthouse keeper reading a letter by candlelight on a stormy night,"] * 8)
    count = counter.count(prompt + " <lora:film:0.6>")
    assert count.exact and count.tokens == len(reference(prompt).input_ids) - 1 > 75
    assert (count.capacity, count.cut_off) == (511, False) and "T5" in count.tooltip
    assert counter.count("a (cat:1.3)").tokens == len(reference("a (cat:1.3)").input_ids) - 1  # plain text
    too_long = counter.count(prompt * 4)
    assert too_long.cut_off and "T5 reads 511 tokens" in too_long.tooltip
    assert tokenizer_folder("", Family.SD3).parts[-2:] == ("sd3", "tokenizer_3")
    counter.use_folder(counter._folder, T5_WINDOWS[Family.SD3])
    assert counter.count(prompt).capacity == 255
    counter.use_folder(shipped_tokenizer(), None)  # back to an SD model: CLIP's chunks
    counter.load_now()
    assert counter.count(prompt).capacity % 75 == 0
