"""Text chunks of a PNG, read without decoding a single pixel.

Importing a folder of thousands of images (and re-indexing orphans at
start-up) must not decode them: this walks the chunk list, skips image data
with a seek, and reads ``tEXt``/``zTXt``/``iTXt`` wherever they sit (some tools
write them after the image data, where a lazy Pillow open does not look).
Sizes are capped so a hostile file cannot make us allocate gigabytes.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

from desktop_sd.core.images import MAX_PNG_TEXT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_CHUNK = 16 * 1024 * 1024  # larger text chunks are skipped
MAX_INFLATED = MAX_PNG_TEXT  # a compressed chunk may not inflate past this (Pillow's cap too)
MAX_CHUNKS = 100_000


class NotPNG(ValueError):
    """The file does not start with the PNG signature."""


def _inflate(data: bytes) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error:
        return None
    return None if inflater.unconsumed_tail else out


def latin1_text(data: bytes) -> str:
    """A ``tEXt``/``zTXt`` value: Latin-1 by the PNG standard, but A1111 (and others) write UTF-8
    there, so UTF-8 comes first ("café", "Zürich" must be found by search) and Latin-1 is the
    fallback; real Latin-1 text with accents is almost never valid UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decode_chunk(kind: bytes, data: bytes) -> tuple[str, str] | None:
    key, sep, rest = data.partition(b"\0")
    if not sep or not key:
        return None
    keyword = key.decode("latin-1")
    if kind == b"tEXt":
        return keyword, latin1_text(rest)
    if kind == b"zTXt":
        text = _inflate(rest[1:]) if rest[:1] == b"\0" else None
        return None if text is None else (keyword, latin1_text(text))
    # iTXt: compression flag, method, language\0, translated keyword\0, UTF-8 text
    if len(rest) < 2:
        return None
    compressed, body = rest[0], rest[2:]
    parts = body.split(b"\0", 2)
    if len(parts) != 3:
        return None
    payload = parts[2]
    if compressed:
        inflated = _inflate(payload)
        if inflated is None:
            return None
        payload = inflated
    return keyword, payload.decode("utf-8", errors="replace")


def read_text_chunks(stream: BinaryIO) -> dict[str, str]:
    """``{keyword: text}`` for every text chunk; stops quietly at a truncated or damaged chunk.

    Raises ``NotPNG`` when the stream is not a PNG at all.
    """
    if stream.read(8) != PNG_SIGNATURE:
        raise NotPNG("not a PNG file")
    texts: dict[str, str] = {}
    for _ in range(MAX_CHUNKS):
        header = stream.read(8)
        if len(header) < 8:
            break
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IEND":
            break
        if kind in (b"tEXt", b"zTXt", b"iTXt") and length <= MAX_TEXT_CHUNK:
            data = stream.read(length)
            if len(data) < length:
                break
            stream.seek(4, 1)  # CRC: a damaged chunk still yields what text it holds
            decoded = _decode_chunk(kind, data)
            if decoded is not None and decoded[0] not in texts:
                texts[decoded[0]] = decoded[1]
        else:
            stream.seek(length + 4, 1)
    return texts
