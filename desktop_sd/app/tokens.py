"""Prompt token counts for the "82 / 150" label, with the ``tokenizers`` library (no torch, no transformers).

The count uses the model's own ``tokenizer.json`` (a diffusers folder's
``tokenizer/``, else the one shipped for its family) and cuts the prompt into
75-token chunks exactly as the engine does (``core.prompt_chunks``): the label
shows the tokens and the room in the chunks used. With A1111's syntax off the
encoder reads one chunk, and the rest is cut off. SD 3 and Flux read the prompt
as plain text with T5 as well as CLIP: their count is T5's, against T5's window
(Flux 512 tokens, SD 3 256, as diffusers' pipelines read them; CLIP reads the
first 77 of it). Until the tokenizer is read (in the background, a fraction of
a second), counts are estimates.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QObject, Signal
from tokenizers import Tokenizer

from desktop_sd.core import paths
from desktop_sd.core.prompt_chunks import CHUNK_TOKENS, chunk_prompt, token_count
from desktop_sd.core.prompt_syntax import Fragment, Piece, parse, plain_text, strip_network_tags
from desktop_sd.core.request import Family

PROMPT_TOKENS = CHUNK_TOKENS  # 77 minus the start and end tokens

_WORDS = re.compile(r"[^\W\d_]+|\d|[^\s\w]+|_+")
_SHIPPED = {Family.SD2: "sd2", Family.SDXL: "sdxl"}
# SD 3 and Flux: T5's tokenizer (shipped and in a diffusers folder) and the tokens it reads, less its end token
T5_TOKENIZERS = {Family.SD3: ("sd3", "tokenizer_3"), Family.FLUX: ("flux", "tokenizer_2")}
T5_WINDOWS = {Family.SD3: 255, Family.FLUX: 511}


class TokenCount(NamedTuple):
    tokens: int
    capacity: int  # 75 per chunk used (CLIP), or T5's window
    exact: bool  # False while the tokenizer is not read yet (or there is none)
    chunked: bool = True  # A1111's syntax on: long prompts take more chunks instead of being cut
    t5: bool = False  # counted with T5 (SD 3, Flux): plain text, CLIP reads only the first 75

    @property
    def cut_off(self) -> bool:
        """Words past what the encoder reads (only with the syntax off)."""
        return not self.chunked and self.tokens > self.capacity

    @property
    def label(self) -> str:
        return f"{'' if self.exact else '≈'}{self.tokens} / {self.capacity}"

    @property
    def tooltip(self) -> str:
        estimated = "" if self.exact else " (estimated)"
        if self.t5 and self.cut_off:
            return f"T5 reads {self.capacity} tokens; the words past that are cut off (CLIP reads the first 75)."
        if self.t5:
            return f"T5 tokens used of the {self.capacity} it reads{estimated}; CLIP reads the first 75"
        if self.cut_off:
            return f"CLIP reads {PROMPT_TOKENS} tokens; the words past that are cut off."
        if not self.chunked:
            return f"Tokens used of the {PROMPT_TOKENS} the model reads{estimated}"
        chunks = self.capacity // PROMPT_TOKENS
        return (
            f"Tokens used{estimated}; the prompt is read in {chunks} chunk{'s' if chunks > 1 else ''} of "
            f"{PROMPT_TOKENS} (BREAK starts a new one)"
        )


def shipped_tokenizer(family: Family = Family.SD1) -> Path:
    """The tokenizer folder shipped for ``family`` (SD 1.x's for any other)."""
    return paths.resources_dir() / "model-configs" / _SHIPPED.get(family, "sd1") / "tokenizer"


def tokenizer_folder(model: str, family: Family) -> Path:
    """The tokenizer a model reads prompts with: its own when it is a diffusers folder, else the shipped one
    (T5's for SD 3 and Flux)."""
    if family in T5_TOKENIZERS:
        shipped, name = T5_TOKENIZERS[family]
        own_t5 = Path(model) / name if model else None
        if own_t5 is not None and (own_t5 / "tokenizer.json").is_file():
            return own_t5
        return paths.resources_dir() / "model-configs" / shipped / name
    own = Path(model) / "tokenizer" if model else None
    if own is not None and (own / "tokenizer.json").is_file():
        return own
    return shipped_tokenizer(family)


def read_tokenizer(folder: Path) -> Tokenizer | None:
    """``folder``'s ``tokenizer.json``; a folder with only ``vocab.json`` and ``merges.txt`` (or none) gets
    the shipped SD 1.x one, which every CLIP model shares. None when nothing can be read."""
    for candidate in (folder / "tokenizer.json", shipped_tokenizer() / "tokenizer.json"):
        with contextlib.suppress(Exception):  # tokenizers reports a damaged file as a bare Exception
            if candidate.is_file():
                return Tokenizer.from_file(str(candidate))
    return None


def estimate_tokens(text: str) -> int:
    """A rough count while no tokenizer is read: common words are one token, long ones more."""
    total = 0
    for piece in _WORDS.findall(" ".join(text.split()).lower()):
        if piece[0].isalpha():
            total += 1 if len(piece) <= 7 else math.ceil(len(piece) / 5)
        else:
            total += len(piece)
    return total


class TokenCounter(QObject):
    """Counts prompt tokens in the chunks the encoder reads.

    ``ready`` fires on the GUI thread whenever counts change meaning (the tokenizer
    was read, or the syntax setting changed): labels should count again.
    """

    ready = Signal()
    _loaded = Signal(object, object)  # (folder, Tokenizer | None), from the loading thread

    def __init__(self, folder: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._folder = folder or shipped_tokenizer()
        self._tokenizer: Tokenizer | None = None
        self._loading: Path | None = None
        self._weights = True
        self._t5_window: int | None = None
        self._loaded.connect(self._set)

    @property
    def exact(self) -> bool:
        return self._tokenizer is not None

    @property
    def prompt_weights(self) -> bool:
        return self._weights

    def set_prompt_weights(self, on: bool) -> None:
        """Count as the engine reads prompts with A1111's syntax on (chunks) or off (one chunk)."""
        if on != self._weights:
            self._weights = on
            self.ready.emit()

    def use_folder(self, folder: Path, t5_window: int | None = None) -> None:
        """Count with the tokenizer in ``folder`` (the chosen model's), read in the background; with
        ``t5_window`` (SD 3, Flux: ``T5_WINDOWS``) as T5 reads plain text, against that window."""
        if t5_window != self._t5_window:
            self._t5_window = t5_window
            self.ready.emit()
        if folder != self._folder:
            self._folder = folder
            self._tokenizer = None
            self.load_in_background()

    def load_in_background(self) -> None:
        """Read the tokenizer on a daemon thread (it never holds up closing the app)."""
        if self._loading == self._folder or self._tokenizer is not None:
            return
        self._loading = self._folder
        folder = self._folder
        threading.Thread(target=self._load, args=(folder,), name="token-counter", daemon=True).start()

    def load_now(self) -> None:
        if self._tokenizer is None:
            self._set(self._folder, read_tokenizer(self._folder))

    def _load(self, folder: Path) -> None:
        tokenizer = read_tokenizer(folder)
        with contextlib.suppress(RuntimeError):  # the counter was deleted while loading
            self._loaded.emit(folder, tokenizer)

    def _set(self, folder: Path, tokenizer: Tokenizer | None) -> None:
        if folder != self._folder:
            return  # an older request, overtaken by a change of model
        self._loading = None
        if tokenizer is not None and self._tokenizer is None:
            self._tokenizer = tokenizer
            self.ready.emit()

    def count(self, text: str) -> TokenCount:
        """The tokens of ``text`` and the room in the chunks they take."""
        tokenizer = self._tokenizer
        if self._t5_window is not None:
            text = strip_network_tags(text).strip()  # <lora:…> tags are taken out before the prompt is read
            if tokenizer is None:
                return TokenCount(estimate_tokens(text), self._t5_window, False, False, True)
            ids = tokenizer.encode(text, add_special_tokens=False).ids
            return TokenCount(len(ids), self._t5_window, True, False, True)
        if tokenizer is None:
            tokens = estimate_tokens(plain_text(parse(strip_network_tags(text))) if self._weights else text)
            chunks = max(1, math.ceil(tokens / CHUNK_TOKENS)) if self._weights else 1
            return TokenCount(tokens, CHUNK_TOKENS * chunks, False, self._weights)

        def tokenize(fragment: str) -> list[int]:
            ids: list[int] = tokenizer.encode(fragment, add_special_tokens=False).ids
            return ids

        if not self._weights:
            return TokenCount(len(tokenize(text)), CHUNK_TOKENS, True, False)
        pieces: list[Piece] = parse(strip_network_tags(text)) if text else [Fragment("")]
        tokens, capacity = token_count(chunk_prompt(pieces, tokenize, tokenizer.token_to_id(",</w>")))
        return TokenCount(tokens, capacity, True)
