"""A parsed prompt cut into the 75-token chunks the text encoder reads, as A1111 cuts it.

CLIP reads 77 tokens: a start token, 75 of the prompt and an end token. A longer prompt is
encoded 75 tokens at a time and the results are joined. Like A1111, a chunk that fills up
within ``COMMA_BACKTRACK`` tokens of a comma is cut just after that comma, so a phrase is
not split between two chunks, and ``BREAK`` starts a new chunk. The engine and the
prompt panel's token counter both cut prompts here, so the count shows what the encoder reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from desktop_sd.core.prompt_syntax import Break, Fragment, Piece

CHUNK_TOKENS = 75  # 77 minus the start and end tokens
COMMA_BACKTRACK = 20  # A1111's default "comma padding backtrack"


@dataclass(frozen=True)
class Chunk:
    """Up to 75 prompt token ids (no start, end or padding tokens) and one weight per token."""

    tokens: tuple[int, ...]
    weights: tuple[float, ...]


def chunk_prompt(pieces: list[Piece], tokenize: Callable[[str], list[int]], comma_id: int | None) -> list[Chunk]:
    """Cut ``pieces`` into chunks; ``tokenize`` gives a text's ids without start/end tokens.

    An empty prompt is one empty chunk.
    """
    chunks: list[Chunk] = []
    tokens: list[int] = []
    weights: list[float] = []
    last_comma = -1

    def close() -> None:
        nonlocal tokens, weights, last_comma
        chunks.append(Chunk(tuple(tokens), tuple(weights)))
        tokens, weights, last_comma = [], [], -1

    for piece in pieces:
        if isinstance(piece, Break):
            close()
            continue
        assert isinstance(piece, Fragment)
        for token in tokenize(piece.text) if piece.text else []:
            if len(tokens) == CHUNK_TOKENS:
                if last_comma != -1 and len(tokens) - last_comma <= COMMA_BACKTRACK:
                    cut = last_comma + 1
                    moved, moved_weights = tokens[cut:], weights[cut:]
                    tokens, weights = tokens[:cut], weights[:cut]
                    close()
                    tokens, weights = moved, moved_weights
                else:
                    close()
            if token == comma_id:
                last_comma = len(tokens)
            tokens.append(token)
            weights.append(piece.weight)
    if tokens or not chunks:
        close()
    return chunks


def token_count(chunks: list[Chunk]) -> tuple[int, int]:
    """(tokens, capacity of the chunks used): what the counter shows as "82 / 150".

    As A1111 counts: every chunk but the last counts in full (a chunk cut short at a comma or by
    ``BREAK`` still takes 75 places), the last counts its tokens.
    """
    return CHUNK_TOKENS * (len(chunks) - 1) + len(chunks[-1].tokens), CHUNK_TOKENS * len(chunks)
