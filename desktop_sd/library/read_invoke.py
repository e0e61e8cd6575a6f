"""Reading InvokeAI's three generations of metadata.

Current: ``invokeai_metadata`` JSON. 2.x: ``sd-metadata`` JSON with an ``image``
object. 1.x: ``Dream``, a quoted prompt followed by command-line flags. In the
older two, negative words sit in the prompt in square brackets.
"""

from __future__ import annotations

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


def parse_sd_metadata(text: str) -> ParsedParameters | None:
    """InvokeAI 2.x ``sd-metadata``."""
    data = json_object(text)
    if data is None:
        return None
    image = data.get("image")
    image = image if isinstance(image, dict) else {}
    positive, negative = split_bracket_negative(to_text(image.get("prompt")))
    sampler = str(image.get("sampler") or "")
    mode = _mode(image.get("type"))
    return ParsedParameters(
        source=INVOKEAI,
        prompt=positive,
        negative_prompt=negative,
        model=str(data.get("model_weights") or ""),
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
    mode = Mode.IMG2IMG if "init" in values else Mode.TXT2IMG
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
