"""Reading InvokeAI's three generations of metadata.

Current: ``invokeai_metadata`` JSON. 2.x: ``sd-metadata`` JSON with an ``image``
object. 1.x: ``Dream``, a quoted prompt followed by command-line flags. In the
older two, negative words sit in the prompt in square brackets.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from typing import Any

from desktop_sd.core.request import Mode
from desktop_sd.library.parsed import INVOKEAI, ParsedParameters, json_object, scheduler_for, to_float, to_int, to_text

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def split_bracket_negative(prompt: str) -> tuple[str, str]:
    """``"a cat [ugly, blurry]"`` -> ``("a cat", "ugly, blurry")`` (InvokeAI 1.x/2.x syntax)."""
    negative = ", ".join(part.strip() for part in _BRACKETS.findall(prompt) if part.strip())
    positive = " ".join(_BRACKETS.sub(" ", prompt).split())
    return positive, negative


def _mode(generation_mode: Any) -> Mode:
    text = str(generation_mode or "").lower()
    if "outpaint" in text:
        return Mode.OUTPAINT
    if "inpaint" in text or "unifiedcanvas" in text:
        return Mode.INPAINT
    if "img2img" in text:
        return Mode.IMG2IMG
    return Mode.TXT2IMG


def parse_invoke_metadata(text: str) -> ParsedParameters | None:
    """The current ``invokeai_metadata`` chunk."""
    data = json_object(text)
    if data is None:
        return None
    model = data.get("model")
    if isinstance(model, dict):
        model_name = str(model.get("name") or model.get("model_name") or "")
    else:
        model_name = str(model or data.get("model_name") or "")
    mode = _mode(data.get("generation_mode"))
    scheduler = str(data.get("scheduler") or "")
    return ParsedParameters(
        source=INVOKEAI,
        prompt=to_text(data.get("positive_prompt")),
        negative_prompt=to_text(data.get("negative_prompt")),
        model=model_name,
        width=to_int(data.get("width")),
        height=to_int(data.get("height")),
        steps=to_int(data.get("steps")),
        cfg_scale=to_float(data.get("cfg_scale")),
        seed=to_int(data.get("seed")),
        sampler=scheduler,
        scheduler=scheduler_for(scheduler),
        strength=to_float(data.get("strength")) if mode is not Mode.TXT2IMG else None,
        mode=mode,
        extra={k: str(data[k]) for k in ("generation_mode", "app_version", "loras") if k in data},
        raw=text,
    )


def _first_image(data: dict[str, Any]) -> dict[str, Any]:
    """The ``image`` object, or the first of an ``images`` list (some 2.x versions and batch runs)."""
    image = data.get("image")
    if not isinstance(image, dict):
        images = data.get("images")
        image = images[0] if isinstance(images, list) and images else None
    return image if isinstance(image, dict) else {}


def parse_sd_metadata(text: str, dream: str | None = None) -> ParsedParameters | None:
    """InvokeAI 2.x ``sd-metadata``; what it leaves empty comes from the ``Dream`` chunk beside it.

    The model is ``model_weights``, else ``model_id``, else ``model_hash`` (1.x wrote only the hash).
    """
    data = json_object(text)
    if data is None:
        return parse_dream(dream) if dream else None
    image = _first_image(data)
    positive, negative = split_bracket_negative(to_text(image.get("prompt")))
    sampler = str(image.get("sampler") or "")
    mode = _mode(image.get("type"))
    model = next((str(data[k]) for k in ("model_weights", "model_id", "model_hash") if data.get(k)), "")
    parsed = ParsedParameters(
        source=INVOKEAI,
        prompt=positive,
        negative_prompt=negative,
        model=model,
        width=to_int(image.get("width")),
        height=to_int(image.get("height")),
        steps=to_int(image.get("steps")),
        cfg_scale=to_float(image.get("cfg_scale")),
        seed=to_int(image.get("seed")),
        sampler=sampler,
        scheduler=scheduler_for(sampler),
        strength=to_float(image.get("strength")) if mode is not Mode.TXT2IMG else None,
        mode=mode,
        extra={k: str(data[k]) for k in ("model_hash", "app_version") if k in data},
        raw=text,
    )
    fallback = parse_dream(dream) if dream else None
    return _fill_from(parsed, fallback) if fallback is not None else parsed


def _fill_from(parsed: ParsedParameters, fallback: ParsedParameters) -> ParsedParameters:
    """``parsed`` with its empty fields taken from ``fallback`` (an img2img fallback brings its mode)."""
    changes: dict[str, Any] = {}
    for name in ("prompt", "negative_prompt", "model", "width", "height", "steps", "cfg_scale", "seed", "strength"):
        if getattr(parsed, name) in (None, "") and getattr(fallback, name) not in (None, ""):
            changes[name] = getattr(fallback, name)
    if not parsed.sampler and fallback.sampler:
        changes.update(sampler=fallback.sampler, scheduler=fallback.scheduler)
    if parsed.mode is Mode.TXT2IMG and fallback.mode is not Mode.TXT2IMG:
        changes["mode"] = fallback.mode
    return dataclasses.replace(parsed, **changes)


_DREAM_FLAGS = {
    "-s": "steps",
    "--steps": "steps",
    "-S": "seed",
    "--seed": "seed",
    "-W": "width",
    "--width": "width",
    "-H": "height",
    "--height": "height",
    "-C": "cfg",
    "--cfg_scale": "cfg",
    "-A": "sampler",
    "--sampler": "sampler",
    "-f": "strength",
    "--strength": "strength",
    "-I": "init",
    "--init_img": "init",
    "-m": "model",
    "--model": "model",
}


def parse_dream(text: str) -> ParsedParameters | None:
    """InvokeAI 1.x ``Dream``: ``"a cat [ugly]" -s 50 -S 1234 -W 512 -H 512 -C 7.5 -A k_lms``."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        tokens = shlex.split(text)
    except ValueError:  # unbalanced quotes
        tokens = text.split()
    prompt_parts: list[str] = []
    values: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name = _DREAM_FLAGS.get(token)
        if name is None and "=" in token and token.split("=", 1)[0] in _DREAM_FLAGS:
            flag, value = token.split("=", 1)
            values[_DREAM_FLAGS[flag]] = value
        elif name is not None and i + 1 < len(tokens):
            values[name] = tokens[i + 1]
            i += 1
        elif not token.startswith("-") and not values:
            prompt_parts.append(token)
        i += 1
    positive, negative = split_bracket_negative(" ".join(prompt_parts))
    # -f (strength) belongs to img2img; some versions left the init image's path out.
    mode = Mode.IMG2IMG if "init" in values or "strength" in values else Mode.TXT2IMG
    sampler = values.get("sampler", "")
    return ParsedParameters(
        source=INVOKEAI,
        prompt=positive,
        negative_prompt=negative,
        model=values.get("model", ""),
        width=to_int(values.get("width")),
        height=to_int(values.get("height")),
        steps=to_int(values.get("steps")),
        cfg_scale=to_float(values.get("cfg")),
        seed=to_int(values.get("seed")),
        sampler=sampler,
        scheduler=scheduler_for(sampler),
        strength=to_float(values.get("strength")) if mode is Mode.IMG2IMG else None,
        mode=mode,
        raw=text,
    )
