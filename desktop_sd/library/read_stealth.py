"""A1111 "stealth" PNG info: the parameters hidden in the low bits of the pixels.

The stealth-pnginfo extension (and Forge, which ships it) writes one bit per
pixel into the alpha channel's lowest bit, or three per pixel into the red,
green and blue ones, column by column (x outer, y inner): a 15-byte signature
(``stealth_pnginfo``/``stealth_pngcomp`` in alpha, ``stealth_rgbinfo``/
``stealth_rgbcomp`` in RGB; ``comp`` means gzip), the payload's length in bits
as a 32-bit number, then the payload, the ``parameters`` text in UTF-8. A
plain reader sees no chunk at all, so this is read only when an image has no
other metadata: it decodes the pixels.
"""

from __future__ import annotations

import zlib

from PIL import Image

from desktop_sd.core.images import MAX_PNG_TEXT

_SIGNATURE_BITS = 15 * 8
_LENGTH_BITS = 32
_ALPHA = {b"stealth_pnginfo": False, b"stealth_pngcomp": True}  # signature -> compressed
_RGB = {b"stealth_rgbinfo": False, b"stealth_rgbcomp": True}
_LOW_BIT = bytes(i & 1 for i in range(256))  # bytes.translate table: each byte to its lowest bit


def _pack(bits: bytes) -> bytes:
    """Bytes from a sequence of 0/1 values, most significant bit first."""
    out = bytearray()
    for i in range(0, len(bits) - len(bits) % 8, 8):
        value = 0
        for bit in bits[i : i + 8]:
            value = (value << 1) | bit
        out.append(value)
    return bytes(out)


def _payload(samples: bytes, signatures: dict[bytes, bool]) -> bytes | None:
    """The payload hidden in the low bits of ``samples`` (channel bytes in reading order)."""
    compressed = signatures.get(_pack(samples[:_SIGNATURE_BITS].translate(_LOW_BIT)))
    if compressed is None:
        return None
    start = _SIGNATURE_BITS + _LENGTH_BITS
    length = int.from_bytes(_pack(samples[_SIGNATURE_BITS:start].translate(_LOW_BIT)), "big")
    if length <= 0 or start + length > len(samples):
        return None
    data = _pack(samples[start : start + length].translate(_LOW_BIT))
    if not compressed:
        return data
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip
    try:
        text = inflater.decompress(data, MAX_PNG_TEXT)
    except zlib.error:
        return None
    return None if inflater.unconsumed_tail else text


def stealth_text(image: Image.Image) -> str | None:
    """The hidden ``parameters`` text of an image, or None when it holds none."""
    if image.mode not in ("RGB", "RGBA"):
        return None
    columns = image.transpose(Image.Transpose.TRANSPOSE)  # row-major bytes of this = column-major of the image
    found = None
    if image.mode == "RGBA":
        found = _payload(columns.getchannel("A").tobytes(), _ALPHA)
    if found is None:
        found = _payload(columns.convert("RGB").tobytes(), _RGB)
    if found is None:
        return None
    try:
        return found.decode("utf-8")
    except UnicodeDecodeError:
        return found.decode("utf-8", errors="replace")
