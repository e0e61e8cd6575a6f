"""Generation metadata written into PNGs.

Two chunks, kept in sync: ``parameters`` in AUTOMATIC1111's text format (the
de facto standard every other tool reads) and ``desktop_sd`` with the full
request as JSON (so our own reader never parses text).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL.PngImagePlugin import PngInfo

from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.schedulers import scheduler_info

JSON_CHUNK = "desktop_sd"
A1111_CHUNK = "parameters"


def _quote(value: str) -> str:
    """A1111 quotes a value holding a comma, colon or quote (its ``quote()``)."""
    if "," not in value and "\n" not in value and ":" not in value and '"' not in value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def a1111_parameters(request: GenerationRequest, model_name: str, version: str = "") -> str:
    """The ``parameters`` text exactly as A1111 lays it out."""
    lines = [request.prompt]
    if request.negative_prompt:
        lines.append(f"Negative prompt: {request.negative_prompt}")
    info = scheduler_info(request.scheduler)
    pairs: list[tuple[str, str]] = [("Steps", str(request.steps))]
    if info.a1111_sampler:
        pairs.append(("Sampler", info.a1111_sampler))
        if info.a1111_schedule:
            pairs.append(("Schedule type", info.a1111_schedule))
    pairs += [
        ("CFG scale", _number(request.cfg_scale)),
        ("Seed", str(request.seed)),
        ("Size", f"{request.width}x{request.height}"),
        ("Model", Path(model_name).stem if model_name.endswith(".safetensors") else model_name),
    ]
    if request.mode is not Mode.TXT2IMG:
        pairs.append(("Denoising strength", _number(request.strength)))
    if request.mode in (Mode.INPAINT, Mode.OUTPAINT):
        pairs.append(("Mask blur", str(request.mask_feather)))
    if version:
        pairs.append(("Version", f"desktop-sd {version}"))
    lines.append(", ".join(f"{key}: {_quote(value)}" for key, value in pairs))
    return "\n".join(lines)


def request_json(request: GenerationRequest, extra: dict[str, Any] | None = None) -> str:
    data = {"format": 1, "request": request.parameters()}
    if extra:
        data.update(extra)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def png_info(
    request: GenerationRequest, model_name: str, version: str = "", extra: dict[str, Any] | None = None
) -> PngInfo:
    """A ``PngInfo`` holding both chunks (Unicode prompts survive in either)."""
    info = PngInfo()
    # add_text writes tEXt when the text is Latin-1 and iTXt otherwise, as A1111 does.
    info.add_text(A1111_CHUNK, a1111_parameters(request, model_name, version))
    info.add_itxt(JSON_CHUNK, request_json(request, extra))
    return info
