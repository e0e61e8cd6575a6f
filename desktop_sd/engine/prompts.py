"""Telling the user which part of a long prompt the text encoder never sees."""

from __future__ import annotations

from typing import Any

QUOTE_CHARS = 80  # a notice quotes this much of the ignored text, then counts the rest


def truncation_notices(tokenizer: Any, prompt: str, negative_prompt: str) -> list[str]:
    """One notice per prompt longer than the tokenizer's window (77 tokens for CLIP), quoting what was cut."""
    notices = []
    for label, text in (("prompt", prompt), ("negative prompt", negative_prompt)):
        cut = _cut_text(tokenizer, text)
        if cut is not None:
            count, ignored = cut
            notices.append(
                f"The {label} is {count:,} tokens long; only the first {tokenizer.model_max_length - 2} are used. "
                f"Ignored: {_quoted(ignored)}"
            )
    return notices


def _cut_text(tokenizer: Any, text: str) -> tuple[int, str] | None:
    if not text:
        return None
    limit = int(tokenizer.model_max_length)
    ids = tokenizer(text, truncation=False, add_special_tokens=True, verbose=False).input_ids
    if len(ids) <= limit:
        return None
    # Same cut as the pipelines: BOS + (limit - 2) tokens + EOS are kept.
    ignored = tokenizer.decode(ids[limit - 1 : -1], skip_special_tokens=True).strip()
    return len(ids) - 2, ignored or "(spaces and symbols)"


def _quoted(text: str) -> str:
    """``text`` in quotes; when long, its first words and how many characters there are in all."""
    if len(text) <= QUOTE_CHARS:
        return f"\u201c{text}\u201d"
    head = text[:QUOTE_CHARS].rsplit(" ", 1)[0] if " " in text[:QUOTE_CHARS] else text[:QUOTE_CHARS]
    return f"\u201c{head}\u201d\u2026 ({len(text):,} characters)"
