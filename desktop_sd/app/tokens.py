"""Prompt token counts for the "N / 75" label, without torch or transformers.

With the CLIP BPE merges at hand (the shipped SD 1.x tokenizer folder) the
count is exact: the same pre-tokenizer and byte-pair merges CLIP uses. Without
them it is an estimate from word lengths. CLIP reads 77 tokens, two of which
are the start and end markers, so 75 are left for the prompt.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop_sd.core import paths
from desktop_sd.core.clip_bytes import bytes_to_unicode

PROMPT_TOKENS = 75  # 77 minus the start and end tokens

# CLIP's pre-tokenizer, with Python ``re`` classes for \p{L} (letters) and \p{N} (digits).
_PIECES = re.compile(
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+",
    re.IGNORECASE,
)


_BYTE_CHARS = bytes_to_unicode()

# One merge in tokenizer.json: ["a","b"] (newer files) or "a b" (older ones).
_JSON_STRING = r'"((?:[^"\\]|\\.)*)"'
_JSON_MERGE = re.compile(rf"\[\s*{_JSON_STRING}\s*,\s*{_JSON_STRING}\s*\]|{_JSON_STRING}")


def _merge(match: re.Match[str]) -> tuple[str, ...]:
    if match.group(3) is not None:
        return tuple(match.group(3).split(" "))
    return match.group(1), match.group(2)


def _unescape(part: str) -> str:
    return json.loads(f'"{part}"') if "\\" in part else part


class ClipBpe:
    """CLIP's byte-pair encoding, enough to count tokens."""

    def __init__(self, merges: list[tuple[str, str]]) -> None:
        self._ranks = {pair: rank for rank, pair in enumerate(merges)}
        self._cache: dict[str, int] = {}

    @classmethod
    def from_folder(cls, folder: Path) -> ClipBpe | None:
        """Read ``merges.txt`` or ``tokenizer.json`` from a tokenizer folder; None when neither is usable.

        The JSON is scanned merge by merge in Python rather than with one
        ``json.loads``: a single 1.6 MB parse would hold the GIL for a quarter of
        a second, and this runs on a background thread beside the GUI.
        """
        try:
            if (folder / "merges.txt").is_file():
                lines = (folder / "merges.txt").read_text(encoding="utf-8").splitlines()
                pairs = [tuple(line.split()) for line in lines if line and not line.startswith("#version")]
            else:
                text = (folder / "tokenizer.json").read_text(encoding="utf-8")
                start = text.find('"merges"')
                if start < 0:
                    return None
                pairs = [tuple(_unescape(part) for part in _merge(m)) for m in _JSON_MERGE.finditer(text, start)]
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        merges = [(p[0], p[1]) for p in pairs if len(p) == 2]
        return cls(merges) if merges else None

    def count(self, text: str) -> int:
        return sum(self._word_tokens(piece) for piece in _PIECES.findall(_clean(text)))

    def _word_tokens(self, piece: str) -> int:
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        chars = "".join(_BYTE_CHARS[b] for b in piece.encode("utf-8"))
        word = [*chars[:-1], chars[-1] + "</w>"]
        while len(word) > 1:
            best = min(itertools.pairwise(word), key=lambda pair: self._ranks.get(pair, math.inf))
            if best not in self._ranks:
                break
            first, second = best
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        if len(self._cache) < 50_000:
            self._cache[piece] = len(word)
        return len(word)


def _clean(text: str) -> str:
    return " ".join(text.split()).lower()


def estimate_tokens(text: str) -> int:
    """A rough count when the BPE merges are not available: common words are one token, long ones more."""
    total = 0
    for piece in _PIECES.findall(_clean(text)):
        if piece[0].isalpha():
            total += 1 if len(piece) <= 7 else math.ceil(len(piece) / 5)
        else:
            total += len(piece)
    return total


class TokenCounter(QObject):
    """Counts prompt tokens; exact once the shipped CLIP merges are loaded in the background.

    Until then (or when no tokenizer is shipped) counts are estimates.
    ``ready`` fires on the GUI thread when exact counts become available.
    """

    ready = Signal()
    _loaded = Signal(object)  # ClipBpe | None, from the loading thread

    def __init__(self, folder: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._folder = folder or paths.resources_dir() / "model-configs" / "sd1" / "tokenizer"
        self._bpe: ClipBpe | None = None
        self._loading = False
        self._loaded.connect(self._set)

    @property
    def exact(self) -> bool:
        return self._bpe is not None

    def load_in_background(self) -> None:
        """Start reading the merges on a daemon thread (it never holds up closing the app)."""
        if self._loading or self._bpe is not None:
            return
        self._loading = True
        threading.Thread(target=self._load, name="token-merges", daemon=True).start()

    def load_now(self) -> None:
        if self._bpe is None:
            self._set(ClipBpe.from_folder(self._folder))

    def _load(self) -> None:
        bpe = ClipBpe.from_folder(self._folder)
        with contextlib.suppress(RuntimeError):  # the counter was deleted while loading
            self._loaded.emit(bpe)

    def _set(self, bpe: ClipBpe | None) -> None:
        self._loading = False
        if bpe is not None and self._bpe is None:
            self._bpe = bpe
            self.ready.emit()

    def count(self, text: str) -> tuple[int, bool]:
        """Tokens in ``text`` and whether the count is exact."""
        if self._bpe is not None:
            return self._bpe.count(text), True
        return estimate_tokens(text), False
