"""Generation metadata in images: what we write, and reading what any popular tool wrote.

We write two chunks, kept in sync: ``parameters`` in AUTOMATIC1111's text
format (the de facto standard every other tool reads) and ``desktop_sd`` with
the full request as JSON (so our own reader never parses text).

``read_parameters`` reads ours, A1111/Forge, ComfyUI, InvokeAI (all three
generations), Fooocus, NovelAI, and A1111 text in JPEG/WebP EXIF UserComment.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo, iTXt

import desktop_sd
from desktop_sd.core import hires
from desktop_sd.core.model_files import PICKLE_SUFFIXES
from desktop_sd.core.provenance import NO_PROVENANCE, Provenance
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.schedulers import SCHEDULER_IDS, scheduler_info
from desktop_sd.library.addon_text import lora_hashes_pair, prompt_with_tags, vae_pairs
from desktop_sd.library.parsed import A1111, DESKTOP_SD, FOOOCUS, NOVELAI, ParsedParameters, to_float, to_int
from desktop_sd.library.pngtext import NotPNG, latin1_text, read_text_chunks
from desktop_sd.library.prompt_metadata import prompt_pairs
from desktop_sd.library.provenance_chunks import provenance_chunks, provenance_extra
from desktop_sd.library.read_a1111 import parse_a1111
from desktop_sd.library.read_comfy import parse_comfy_prompt, parse_comfy_workflow
from desktop_sd.library.read_invoke import parse_dream, parse_invoke_metadata, parse_sd_metadata
from desktop_sd.library.read_other import parse_fooocus, parse_json_comment, parse_novelai
from desktop_sd.library.read_stealth import stealth_text

JSON_CHUNK = "desktop_sd"
A1111_CHUNK = "parameters"
EXIF_IFD = 0x8769
USER_COMMENT = 0x9286
# ComfyUI's WebP/JPEG savers put its two graphs in IFD0 text tags, each value prefixed "<chunk name>:".
EXIF_MAKE = 0x010F  # "workflow:{...}"
EXIF_MODEL = 0x0110  # "prompt:{...}"
PNG_COMPRESS_LEVEL = 4  # a fast save; barely larger than level 6
# A1111 shows a checkpoint's name without these (GGUF: quantised models other tools run).
MODEL_SUFFIXES = (".safetensors", *PICKLE_SUFFIXES, ".gguf")

__all__ = [
    "A1111_CHUNK",
    "JSON_CHUNK",
    "ParsedParameters",
    "a1111_parameters",
    "decode_user_comment",
    "encode_png",
    "encode_user_comment",
    "model_display_name",
    "parse_text_chunks",
    "png_info",
    "read_parameters",
    "request_json",
]


# ---- writing ----------------------------------------------------------------------------


def _quote(value: str) -> str:
    """A1111's ``quote()``: JSON-quote a value holding a comma, newline or colon.

    A value that starts with a double quote is quoted too, so A1111's reader
    (which unquotes anything wrapped in quotes) gives it back unchanged.
    """
    if "," not in value and "\n" not in value and ":" not in value and not value.startswith('"'):
        return value
    return json.dumps(value, ensure_ascii=False)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def model_display_name(model: str) -> str:
    """What A1111 writes as ``Model``: a checkpoint's file name without extension, a folder's name."""
    if not model:
        return ""
    path = PurePath(model.replace("\\", "/"))
    if model.lower().endswith(MODEL_SUFFIXES):
        return path.stem
    drive = len(model) > 2 and model[1] == ":" and model[2] in "\\/"
    if path.is_absolute() or model.startswith((".", "~")) or drive:
        return path.name
    return model  # a repo id ("owner/name") or a catalog id


def a1111_parameters(
    request: GenerationRequest,
    model_name: str,
    version: str = "",
    model_hash: str = "",
    lora_hashes: tuple[tuple[str, str], ...] = (),
    vae_hash: str = "",
    server: str = "",
) -> str:
    """The ``parameters`` text exactly as A1111 lays it out (keys in A1111's order, None values left out).

    ``server``: the ComfyUI server that made the image, written as ``Server: NAME`` before ``Version``.

    ``Sampler`` and ``Schedule type`` are A1111's names for the scheduler id; a request still
    saying "default" (never run, so the model's own scheduler is not known) has neither.
    """
    info = scheduler_info(request.scheduler)
    pairs: list[tuple[str, str]] = [("Steps", str(request.steps))]
    if info.a1111_sampler:
        pairs.append(("Sampler", info.a1111_sampler))
        pairs.append(("Schedule type", info.a1111_schedule))
    pairs.append(("CFG scale", _number(request.cfg_scale)))
    if request.seed is not None:
        pairs.append(("Seed", str(request.seed)))
    pairs.append(("Size", f"{request.width}x{request.height}"))
    if model_hash:
        pairs.append(("Model hash", model_hash))
    name = model_display_name(model_name)
    if name:
        pairs.append(("Model", name))
    pairs += vae_pairs(request, vae_hash)
    if request.mode is not Mode.TXT2IMG:
        pairs.append(("Denoising strength", _number(request.strength)))
    pairs += hires.a1111_pairs(request)
    if request.mode in (Mode.INPAINT, Mode.OUTPAINT):
        pairs.append(("Mask blur", str(request.mask_feather)))
    pairs += prompt_pairs(request)
    pairs += lora_hashes_pair(lora_hashes)
    if server:
        pairs.append(("Server", server))
    if request.fast_decode:
        pairs.append(("Decoder", "TAESD"))  # the tiny autoencoder made the pixels, not the model's VAE
    if version:
        pairs.append(("Version", f"desktop-sd {version}"))
    negative = f"\nNegative prompt: {request.negative_prompt}" if request.negative_prompt else ""
    parameters = ", ".join(f"{key}: {_quote(value)}" for key, value in pairs)
    # A1111: f"{prompt}{negative}\n{params}".strip()
    return f"{prompt_with_tags(request)}{negative}\n{parameters}".strip()


def request_json(request: GenerationRequest, extra: dict[str, Any] | None = None) -> str:
    data = {"format": 1, "request": request.parameters()}
    if extra:
        data.update(extra)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def png_info(
    request: GenerationRequest,
    model_name: str,
    version: str = "",
    extra: dict[str, Any] | None = None,
    text: Mapping[str, str] | None = None,
    provenance: Provenance = NO_PROVENANCE,
) -> PngInfo:
    """A ``PngInfo`` holding both chunks (Unicode prompts survive in either), then ``provenance``'s
    own chunks (a server's graph, an upscale's postprocessing text), then ``text`` as given."""
    info = PngInfo()
    # add_text writes tEXt when the text is Latin-1 and iTXt otherwise, as A1111 does.
    p = provenance
    info.add_text(
        A1111_CHUNK, a1111_parameters(request, model_name, version, p.model_hash, p.lora_hashes, p.vae_hash, p.server)
    )
    info.add_itxt(JSON_CHUNK, request_json(request, provenance_extra(extra, p)))
    for key, value in {**provenance_chunks(p), **(text or {})}.items():
        info.add_text(key, value)
    return info


def encode_png(
    image: Image.Image,
    request: GenerationRequest | None,
    model_name: str = "",
    extra: dict[str, Any] | None = None,
    text: Mapping[str, str] | None = None,
    provenance: Provenance = NO_PROVENANCE,
) -> bytes:
    """``image`` as a PNG file's bytes, with both chunks for ``request`` (none when it is None).

    The one encoder for every PNG we write with metadata: the library, the
    command line and File > Export. ``provenance``: what made the image beyond
    its request (``Provenance.of(result, index)``); a ComfyUI server's result
    keeps the submitted graph under ``prompt``, so ComfyUI itself can load the
    image. ``text`` adds chunks of other tools' formats, written as given.
    """
    info = None
    if request is not None:
        info = png_info(request, model_name, desktop_sd.__version__, extra, text, provenance)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def encode_user_comment(text: str) -> bytes:
    """EXIF UserComment as A1111 writes it in JPEG/WebP: ``UNICODE\\0`` then UTF-16 (big-endian, as piexif)."""
    return b"UNICODE\0" + text.encode("utf-16-be")


# ---- reading ----------------------------------------------------------------------------


def decode_user_comment(raw: bytes | str) -> str:
    """Text of an EXIF UserComment; UTF-16 of either byte order after a ``UNICODE\\0`` prefix."""
    if isinstance(raw, str):
        return raw.rstrip("\0")
    prefix, body = raw[:8], raw[8:]
    if prefix == b"UNICODE\0":
        body = body[: len(body) - len(body) % 2]  # a stray odd byte is padding, not a character
        if body.startswith(b"\xff\xfe"):
            return body[2:].decode("utf-16-le", errors="replace").rstrip("\0")
        if body.startswith(b"\xfe\xff"):
            return body[2:].decode("utf-16-be", errors="replace").rstrip("\0")
        # No byte-order mark: mostly-ASCII text has its zero bytes first in big-endian.
        big_endian = body[0::2].count(0) >= body[1::2].count(0)
        return body.decode("utf-16-be" if big_endian else "utf-16-le", errors="replace").rstrip("\0")
    if prefix in (b"ASCII\0\0\0", b"\0" * 8, b"JIS\0\0\0\0\0"):
        body = body if prefix != b"JIS\0\0\0\0\0" else b""
        return body.decode("utf-8", errors="replace").rstrip("\0")
    return raw.decode("utf-8", errors="replace").rstrip("\0")


def _own(text: str, chunks: Mapping[str, str]) -> ParsedParameters | None:
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None
    request = data.get("request") if isinstance(data, dict) else None
    if not isinstance(request, dict):
        return None
    mode_text = str(request.get("mode", "txt2img"))
    scheduler = str(request.get("scheduler", "default"))
    return ParsedParameters(
        source=DESKTOP_SD,
        prompt=str(request.get("prompt", "")),
        negative_prompt=str(request.get("negative_prompt", "")),
        model=str(request.get("model", "")),
        width=to_int(request.get("width")),
        height=to_int(request.get("height")),
        steps=to_int(request.get("steps")),
        cfg_scale=to_float(request.get("cfg_scale")),
        seed=to_int(request.get("seed")),
        sampler=scheduler,
        scheduler=scheduler if scheduler in SCHEDULER_IDS else "default",
        strength=to_float(request.get("strength")),
        mode=Mode(mode_text) if mode_text in {m.value for m in Mode} else Mode.TXT2IMG,
        extra={k: str(v) for k, v in data.items() if k not in ("format", "request")},
        raw=chunks.get(A1111_CHUNK, text),
        request=request,
    )


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (TypeError, ValueError, RecursionError):
        return False


def parse_text_chunks(chunks: Mapping[str, Any], size: tuple[int, int] | None = None) -> ParsedParameters | None:
    """Parameters from an image's text metadata (PNG chunks, or what Pillow puts in ``info``)."""
    text = {k: v for k, v in chunks.items() if isinstance(v, str)}
    readers: list[Callable[[], ParsedParameters | None]] = []
    if JSON_CHUNK in text:
        readers.append(lambda: _own(text[JSON_CHUNK], text))
    if "invokeai_metadata" in text:
        readers.append(lambda: parse_invoke_metadata(text["invokeai_metadata"]))
    if A1111_CHUNK in text:
        params = text[A1111_CHUNK]
        scheme = text.get("fooocus_scheme", "")
        if scheme == "fooocus" or (_is_json_object(params) and scheme != "a1111"):
            readers.append(lambda: parse_fooocus(params))
        else:
            source = FOOOCUS if scheme else A1111
            readers.append(lambda: parse_a1111(params, source, require_parameters=False))
    if "prompt" in text:
        readers.append(lambda: parse_comfy_prompt(text["prompt"]))
    if "workflow" in text:
        readers.append(lambda: parse_comfy_workflow(text["workflow"]))
    if "sd-metadata" in text:
        readers.append(lambda: parse_sd_metadata(text["sd-metadata"], text.get("Dream")))
    if "Dream" in text:
        readers.append(lambda: parse_dream(text["Dream"]))
    if str(text.get("Software", "")).startswith(NOVELAI):
        readers.append(lambda: parse_novelai(text, size))
    for reader in readers:
        try:
            parsed = reader()
        except Exception:  # one unforeseen shape must not stop the next reader
            parsed = None
        if parsed is not None:
            return parsed
    return None


def _exif_text(image: Image.Image) -> str | None:
    try:
        raw = image.getexif().get_ifd(EXIF_IFD).get(USER_COMMENT)
    except Exception:  # damaged EXIF: no metadata, not a failure
        return None
    if not raw:
        return None
    text = decode_user_comment(raw)
    return text if text.strip() else None


def _png_text(value: Any) -> Any:
    """Pillow decodes ``tEXt`` as Latin-1; redo it UTF-8 first, as ``pngtext`` does (iTXt is UTF-8 already)."""
    if isinstance(value, str) and not isinstance(value, iTXt):
        try:
            return latin1_text(value.encode("latin-1"))
        except UnicodeEncodeError:
            return value
    return value


def _exif_chunks(image: Image.Image) -> dict[str, str]:
    """ComfyUI's ``prompt``/``workflow`` from EXIF tags, as if they were PNG chunks."""
    try:
        exif = image.getexif()
    except Exception:  # damaged EXIF: no metadata, not a failure
        return {}
    chunks: dict[str, str] = {}
    for tag in (EXIF_MODEL, EXIF_MAKE):
        value = exif.get(tag)
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, str):
            name, sep, text = value.partition(":")
            if sep and name in ("prompt", "workflow") and text.lstrip().startswith("{"):
                chunks[name] = text.rstrip("\0")
    return chunks


def _from_image(image: Image.Image) -> ParsedParameters | None:
    info: dict[str, Any] = {k: v for k, v in image.info.items() if isinstance(k, str)}
    if image.format != "PNG":
        info.update(_exif_chunks(image))
    if image.format == "PNG":
        # A truncated file fails past the header: keep what the lazy open read.
        with contextlib.suppress(Exception):
            info.update(getattr(image, "text", {}))
        info = {k: _png_text(v) for k, v in info.items()}
    parsed = parse_text_chunks(info, image.size)
    if parsed is not None:
        return parsed
    comment = _exif_text(image)
    if comment is None:
        raw_comment = info.get("comment")
        if isinstance(raw_comment, bytes):
            comment = raw_comment.decode("utf-8", errors="replace")
    if comment:
        if _is_json_object(comment):
            return parse_json_comment(comment)
        return parse_a1111(comment, A1111)
    return _from_stealth(image)


def _from_stealth(image: Image.Image) -> ParsedParameters | None:
    """A1111's stealth PNG info, for a lossless image with no other metadata (this decodes pixels)."""
    if image.format not in ("PNG", "WEBP"):
        return None
    text = stealth_text(image)
    return parse_a1111(text, A1111, require_parameters=False) if text else None


def read_parameters(source: str | Path | Image.Image) -> ParsedParameters | None:
    """Generation parameters embedded in an image file (or an opened image); None when there are none.

    Never raises for a damaged, truncated or foreign file: whatever cannot be
    read is simply not there. PNG text is read without decoding pixels; only a
    PNG with no text at all is decoded, for A1111's stealth info in its pixels.
    """
    if isinstance(source, Image.Image):
        try:
            return _from_image(source)
        except Exception:
            return None
    path = Path(source)
    try:
        with open(path, "rb") as stream:
            try:
                chunks = read_text_chunks(stream)
            except NotPNG:
                chunks = None
            if chunks is not None:
                size = _png_size(stream)
                parsed = parse_text_chunks(chunks, size)
                if parsed is not None:
                    return parsed
                stream.seek(0)
                with Image.open(stream) as image:
                    return _from_stealth(image)
            stream.seek(0)
            with Image.open(stream) as image:
                return _from_image(image)
    except Exception:
        return None


def _png_size(stream: Any) -> tuple[int, int] | None:
    stream.seek(16)
    data = stream.read(8)
    if len(data) < 8:
        return None
    return int.from_bytes(data[:4], "big"), int.from_bytes(data[4:], "big")
