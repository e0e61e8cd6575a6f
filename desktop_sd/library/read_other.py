"""Reading Fooocus (JSON ``parameters``) and NovelAI (``Description`` + ``Comment`` JSON)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from desktop_sd.core.request import Mode
from desktop_sd.library.parsed import (
    DRAW_THINGS,
    FOOOCUS,
    NOVELAI,
    ParsedParameters,
    json_object,
    scheduler_for,
    to_float,
    to_int,
    to_text,
)

_PAIR = re.compile(r"(\d+)\D+(\d+)")


def parse_fooocus(text: str) -> ParsedParameters | None:
    """Fooocus's JSON ``parameters`` (written with ``fooocus_scheme`` = ``fooocus``)."""
    data = json_object(text)
    if data is None:
        return None
    width = to_int(data.get("width"))
    height = to_int(data.get("height"))
    size = _PAIR.search(str(data.get("resolution", "")))
    if size and (width is None or height is None):
        width, height = int(size.group(1)), int(size.group(2))
    sampler = str(data.get("sampler") or "")
    schedule = str(data.get("scheduler") or "")
    known = {"prompt", "negative_prompt", "base_model", "steps", "guidance_scale", "seed", "sampler", "scheduler"}
    return ParsedParameters(
        source=FOOOCUS,
        prompt=to_text(data.get("prompt")),
        negative_prompt=to_text(data.get("negative_prompt")),
        model=str(data.get("base_model") or ""),
        width=width,
        height=height,
        steps=to_int(data.get("steps")),
        cfg_scale=to_float(data.get("guidance_scale")),
        seed=to_int(data.get("seed")),
        sampler=f"{sampler} {schedule}".strip(),
        scheduler=scheduler_for(sampler, schedule),
        extra={k: str(v) for k, v in data.items() if k not in known},
        raw=text,
    )


def parse_novelai(info: Mapping[str, Any], size: tuple[int, int] | None = None) -> ParsedParameters | None:
    """NovelAI: ``Software`` = NovelAI, prompt in ``Description``, settings in ``Comment`` JSON."""
    comment = json_object(str(info.get("Comment", ""))) or {}
    prompt = str(info.get("Description") or comment.get("prompt") or "")
    if not prompt and not comment:
        return None
    request_type = str(comment.get("request_type", "")).lower()
    mode = Mode.IMG2IMG if "img2img" in request_type else Mode.TXT2IMG
    sampler = str(comment.get("sampler") or "")
    width = to_int(comment.get("width")) or (size[0] if size else None)
    height = to_int(comment.get("height")) or (size[1] if size else None)
    known = {"prompt", "uc", "steps", "scale", "seed", "sampler", "strength", "width", "height"}
    return ParsedParameters(
        source=NOVELAI,
        prompt=prompt,
        negative_prompt=to_text(comment.get("uc")),
        model=str(info.get("Source") or ""),
        width=width,
        height=height,
        steps=to_int(comment.get("steps")),
        cfg_scale=to_float(comment.get("scale")),
        seed=to_int(comment.get("seed")),
        sampler=sampler,
        scheduler=scheduler_for(sampler),
        strength=to_float(comment.get("strength")) if mode is Mode.IMG2IMG else None,
        mode=mode,
        extra={k: str(v) for k, v in comment.items() if k not in known},
        raw=str(info.get("Comment", "")),
    )


def parse_json_comment(text: str) -> ParsedParameters | None:
    """JSON in an EXIF UserComment: Draw Things (``c``/``uc`` keys) or Fooocus-style keys."""
    data = json_object(text)
    if data is None:
        return None
    if "c" in data:
        size = _PAIR.search(str(data.get("size", "")))
        sampler = str(data.get("sampler") or "")
        return ParsedParameters(
            source=DRAW_THINGS,
            prompt=to_text(data.get("c")),
            negative_prompt=to_text(data.get("uc")),
            model=str(data.get("model") or ""),
            width=int(size.group(1)) if size else None,
            height=int(size.group(2)) if size else None,
            steps=to_int(data.get("steps")),
            cfg_scale=to_float(data.get("scale")),
            seed=to_int(data.get("seed")),
            sampler=sampler,
            scheduler=scheduler_for(sampler),
            strength=to_float(data.get("strength")),
            raw=text,
        )
    if isinstance(data.get("prompt"), str):
        return parse_fooocus(text)
    return None
