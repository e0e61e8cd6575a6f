"""A1111 prompt syntax: the cases from A1111's documentation and the edges around them."""

from __future__ import annotations

import pytest

from desktop_sd.core.prompt_chunks import CHUNK_TOKENS, chunk_prompt, token_count
from desktop_sd.core.prompt_syntax import Break, Fragment, parse, strip_network_tags

B = Break()


def F(text: str, weight: float = 1.0) -> Fragment:
    return Fragment(text, weight)


CASES = [
    ("normal text", [F("normal text")]),
    ("", [F("")]),
    ("an (important) word", [F("an "), F("important", 1.1), F(" word")]),
    ("((word))", [F("word", 1.1 * 1.1)]),
    ("[word]", [F("word", 1 / 1.1)]),
    ("[[word]]", [F("word", 1 / 1.1 / 1.1)]),
    ("(word:1.3)", [F("word", 1.3)]),
    ("(word:0.5) x", [F("word", 0.5), F(" x")]),
    ("( word : 1.5 )", [F(" word ", 1.5)]),
    ("(word:1.0)", [F("word")]),
    ("(unbalanced", [F("unbalanced", 1.1)]),
    ("[unbalanced", [F("unbalanced", 1 / 1.1)]),
    ("closed) only]", [F("closed) only]")]),
    ("a :1.2) b", [F("a :1.2) b")]),
    ("\\(literal\\]", [F("(literal]")]),
    ("\\(word:1.2\\)", [F("(word:1.2)")]),
    ("back\\\\slash", [F("back\\slash")]),
    ("(unnecessary)(parens)", [F("unnecessaryparens", 1.1)]),
    ("time: noon", [F("time: noon")]),
    ("((a) b:2)", [F("a", 2.2), F(" b", 2.0)]),
    ("[(a:1.5)]", [F("a", 1.5 / 1.1)]),
    (
        "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
        [
            F("a "),
            F("house", 1.1 * 1.3 * 1.1),
            F(" ", 1.1),
            F("on", 1.0),
            F(" a ", 1.1),
            F("hill", 0.55),
            F(", sun, ", 1.1),
            F("sky", 1.1**4),
            F(".", 1.1),
        ],
    ),
    ("a BREAK b", [F("a"), B, F("b")]),
    ("a\nBREAK\nb", [F("a"), B, F("b")]),
    ("(a BREAK b)", [F("a", 1.1), B, F("b", 1.1)]),
    ("BREAKFAST break", [F("BREAKFAST break")]),
    ("BREAK a", [B, F("a")]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_parse_follows_a1111(text: str, expected: list[Fragment | Break]) -> None:
    got = parse(text)
    assert [type(p) for p in got] == [type(p) for p in expected]
    for piece, want in zip(got, expected, strict=True):
        if isinstance(want, Fragment):
            assert isinstance(piece, Fragment)
            assert piece.text == want.text
            assert piece.weight == pytest.approx(want.weight)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a cat <lora:style:0.8>, red", "a cat , red"),
        ("<LYCO:x> <hypernet:y:1> dog", "  dog"),
        ("<not a tag>", "<not a tag>"),
    ],
)
def test_network_tags_are_stripped(text: str, expected: str) -> None:
    assert strip_network_tags(text) == expected


def words(text: str) -> list[int]:
    """A stand-in tokenizer: one id per word, commas as id 0."""
    ids = []
    for word in text.replace(",", " , ").split():
        ids.append(0 if word == "," else len(word))
    return ids


def test_short_prompt_is_one_chunk_with_weights_per_token() -> None:
    chunks = chunk_prompt(parse("aa (bbb:1.5) c"), words, comma_id=0)
    assert [(c.tokens, c.weights) for c in chunks] == [((2, 3, 1), (1.0, 1.5, 1.0))]
    assert token_count(chunks) == (3, 75)


def test_empty_prompt_is_one_empty_chunk() -> None:
    assert token_count(chunk_prompt(parse(""), words, comma_id=0)) == (0, 75)


def test_long_prompt_without_commas_is_cut_at_75() -> None:
    chunks = chunk_prompt(parse(" ".join(["w"] * 82)), words, comma_id=0)
    assert [len(c.tokens) for c in chunks] == [CHUNK_TOKENS, 7]
    assert token_count(chunks) == (82, 150)


def test_full_chunk_is_cut_after_a_recent_comma() -> None:
    text = " ".join(["w"] * 70) + ", " + " ".join(["v"] * 10)
    chunks = chunk_prompt(parse(text), words, comma_id=0)
    assert [len(c.tokens) for c in chunks] == [71, 10]  # the comma ends the first chunk
    assert chunks[0].tokens[-1] == 0
    assert token_count(chunks) == (85, 150)  # a chunk cut short still counts 75, as A1111 counts


def test_comma_too_far_back_does_not_move_the_phrase() -> None:
    text = " ".join(["w"] * 30) + ", " + " ".join(["v"] * 60)
    chunks = chunk_prompt(parse(text), words, comma_id=0)
    assert [len(c.tokens) for c in chunks] == [75, 16]


def test_weight_at_a_chunk_edge_follows_its_tokens() -> None:
    text = " ".join(["w"] * 74) + " (x y:1.4)"
    chunks = chunk_prompt(parse(text), words, comma_id=0)
    assert chunks[0].weights[-1] == pytest.approx(1.4)
    assert chunks[1].weights == (pytest.approx(1.4),)


def test_break_starts_a_new_chunk() -> None:
    chunks = chunk_prompt(parse("a b BREAK c"), words, comma_id=0)
    assert [c.tokens for c in chunks] == [(1, 1), (1,)]
    assert token_count(chunks) == (76, 150)
