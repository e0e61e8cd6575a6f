"""Notices about long prompts: what the text encoder never sees, quoted short."""

from __future__ import annotations

from types import SimpleNamespace

from desktop_sd.engine.prompts import truncation_notices


class CharTokenizer:
    """One token per character, between a start and an end token: enough to cut prompts as CLIP does."""

    model_max_length = 77

    def __call__(self, text: str, **_kwargs: object) -> SimpleNamespace:
        return SimpleNamespace(input_ids=[0, *(ord(c) for c in text), 1])

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return "".join(chr(i) for i in ids if i > 1)


def test_a_huge_prompt_is_quoted_by_its_first_words_and_counted() -> None:
    prompt = "a fox in the snow " * 5556  # 100,008 characters
    (notice,) = truncation_notices(CharTokenizer(), prompt, "")
    ignored = len(prompt[75:].strip())
    assert notice.startswith(f"The prompt is {len(prompt):,} tokens long; only the first 75 are used. Ignored: ")
    assert notice.endswith(f"… ({ignored:,} characters)") and len(notice) < 250


def test_a_short_overflow_is_quoted_whole() -> None:
    (notice,) = truncation_notices(CharTokenizer(), "x" * 75 + " and a hat", "")
    assert notice.endswith("Ignored: \u201cand a hat\u201d")
