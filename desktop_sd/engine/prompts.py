"""Telling the user which part of a long prompt the text encoder never sees."""

from __future__ import annotations

from typing import Any


def truncation_notices(tokenizer: Any, prompt: str, negative_prompt: str) -> list[str]:
    """One notice per prompt longer than the tokenizer's window (77 tokens for CLIP), quoting what was cut."""
    notices = []
    for label, text in (("prompt", prompt), ("negative prompt", negative_prompt)):
        cut = _cut_text(tokenizer, text)
        if cut is not None:
            count, ignored = cut
            notices.append(
                f"The {label} is {count} tokens long; only the first {tokenizer.model_max_length - 2} are used. "
                f"Ignored: \u201c{ignored}\u201d"
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
