"""GPT-2's byte-to-character table, which CLIP's BPE vocabulary is written in.

Shared by the random-weight test tokenizer and the
script that builds the shipped tokenizer files.
"""

from __future__ import annotations

import functools


@functools.cache
def bytes_to_unicode() -> dict[int, str]:
    """Each of the 256 byte values mapped to a printable character (printable ASCII/Latin-1 map to themselves)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    extra = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))
