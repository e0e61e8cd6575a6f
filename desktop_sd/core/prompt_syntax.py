"""AUTOMATIC1111's prompt syntax: emphasis brackets, explicit weights and ``BREAK``.

The rules, as A1111 documents them (wiki "Features", "Attention/emphasis"):

- ``(word)`` multiplies the attention to ``word`` by 1.1, ``((word))`` by 1.1², and so on;
- ``[word]`` divides it by 1.1;
- ``(word:1.3)`` multiplies it by 1.3 (a number after a colon just before ``)``);
- brackets nest and multiply; a bracket left open applies to the end of the prompt, and a
  closing bracket with no opening one is read as text;
- ``\\(``, ``\\)``, ``\\[``, ``\\]`` and ``\\\\`` are the literal characters;
- ``BREAK`` (upper case, a word of its own) ends the current 75-token chunk.

Network tags (``<lora:name:0.8>``, ``<lyco:...>``, ``<hypernet:...>``) are not text for the
encoder: :func:`strip_network_tags` removes them before parsing. Pure Python (no torch), so the
token counter and the engine read prompts the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROUND = 1.1
SQUARE = 1 / 1.1

# One token of the syntax: an escape, a bracket, ":number)" closing a weighted group, or plain text.
_TOKEN = re.compile(
    r"""
    \\[()\[\]\\]            # an escaped bracket or backslash
  | \\                      # a lone backslash: literal
  | \(                      # open emphasis
  | \[                      # open de-emphasis
  | :\s*([+-]?[.\d]+)\s*\)  # ":1.3)" closes a weighted group
  | \)
  | ]
  | [^\\()\[\]:]+           # plain text
  | :                       # a colon that is not a weight
    """,
    re.VERBOSE,
)
_BREAK = re.compile(r"\s*\bBREAK\b\s*", re.DOTALL)
_NETWORK_TAG = re.compile(r"<(?:lora|lyco|hypernet):[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class Fragment:
    """A run of prompt text with one attention weight."""

    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class Break:
    """``BREAK``: the text after it starts a new chunk."""


Piece = Fragment | Break


def strip_network_tags(text: str) -> str:
    """``text`` without ``<lora:...>``, ``<lyco:...>`` and ``<hypernet:...>`` tags."""
    return _NETWORK_TAG.sub("", text)


def parse(text: str) -> list[Piece]:
    """Split a prompt into weighted fragments and breaks, as A1111's ``parse_prompt_attention``.

    Neighbouring fragments of equal weight are merged; an empty prompt is one empty fragment.
    """
    pieces: list[list[str | float] | None] = []  # [text, weight], or None for a break
    rounds: list[int] = []  # where each open "(" started in ``pieces``
    squares: list[int] = []

    def multiply(start: int, factor: float) -> None:
        for piece in pieces[start:]:
            if piece is not None:
                piece[1] = float(piece[1]) * factor

    for match in _TOKEN.finditer(text):
        token, weight = match.group(0), match.group(1)
        if token.startswith("\\"):
            pieces.append([token[1:] or "\\", 1.0])
        elif token == "(":
            rounds.append(len(pieces))
        elif token == "[":
            squares.append(len(pieces))
        elif weight is not None and rounds:
            multiply(rounds.pop(), _number(weight))
        elif token == ")" and rounds:
            multiply(rounds.pop(), ROUND)
        elif token == "]" and squares:
            multiply(squares.pop(), SQUARE)
        else:  # text, or a closing bracket with nothing open (kept as text, as A1111 does)
            for i, part in enumerate(_BREAK.split(token)):
                if i > 0:
                    pieces.append(None)
                pieces.append([part, 1.0])
    for start in rounds:
        multiply(start, ROUND)
    for start in squares:
        multiply(start, SQUARE)
    return _merged(pieces)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # "1.2.3": A1111 fails here; reading it as no weight is kinder
        return 1.0


def _merged(pieces: list[list[str | float] | None]) -> list[Piece]:
    merged: list[Piece] = []
    for piece in pieces:
        if piece is None:
            merged.append(Break())
            continue
        text, weight = str(piece[0]), float(piece[1])
        last = merged[-1] if merged else None
        if not text:
            continue
        if isinstance(last, Fragment) and last.weight == weight:
            merged[-1] = Fragment(last.text + text, weight)
        else:
            merged.append(Fragment(text, weight))
    return merged or [Fragment("")]


def plain_text(pieces: list[Piece]) -> str:
    """The prompt's words without any syntax (what the encoder reads, weights aside)."""
    return " ".join(p.text for p in pieces if isinstance(p, Fragment))


def embedding_names(ti_hashes: str) -> list[str]:
    """The embedding names in A1111's ``TI hashes`` value (``"name: hash, name: hash"``), in order."""
    names = []
    for part in ti_hashes.split(","):
        name = part.rsplit(":", 1)[0].strip() if ":" in part else part.strip()
        if name:
            names.append(name)
    return names
