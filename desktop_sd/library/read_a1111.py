"""Reading AUTOMATIC1111's ``parameters`` text (also written by Forge, SD.Next, Fooocus and others).

The parsing follows A1111's own ``parse_generation_parameters``: the last line
holding at least three ``Key: value`` pairs is the parameter line; lines
before it are the prompt until one starts with ``Negative prompt:``.
"""

from __future__ import annotations

import json
import re

from desktop_sd.core.request import Mode
from desktop_sd.library.parsed import A1111, ParsedParameters, scheduler_for, to_float, to_int

# A1111's own pattern: a key, a colon, then a quoted string or anything up to the next comma.
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")
NEGATIVE_PREFIX = "Negative prompt:"


def _unquote(value: str) -> str:
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


def parse_parameter_line(line: str) -> dict[str, str]:
    """``Key: value, Key: "quoted, value"`` -> ``{key: value}`` in the order written."""
    return {key.strip(): _unquote(value.strip()) for key, value in _PARAM.findall(line)}


def _is_parameter_line(line: str) -> bool:
    return len(_PARAM.findall(line)) >= 3


def parse_a1111(text: str, source: str = A1111, require_parameters: bool = True) -> ParsedParameters | None:
    """Parse A1111 ``parameters`` text.

    Text with no parameter line is a bare prompt (as A1111 reads it) when
    ``require_parameters`` is false, and None otherwise (a JPEG comment such as
    "Created with GIMP" is not a prompt).
    """
    if not isinstance(text, str) or not text.strip():
        return None
    lines = text.strip().replace("\r\n", "\n").split("\n")
    # Extensions sometimes append lines after the parameters (e.g. "Template: ..."); take the
    # last line that looks like parameters and keep what follows it as extra text.
    index = next((i for i in range(len(lines) - 1, -1, -1) if _is_parameter_line(lines[i])), None)
    if index is None:
        if require_parameters:
            return None
        lines.append("")
        index = len(lines) - 1
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    in_negative = False
    for raw_line in lines[:index]:
        line = raw_line.strip()
        if line.startswith(NEGATIVE_PREFIX):
            in_negative = True
            line = line[len(NEGATIVE_PREFIX) :].strip()
        (negative_lines if in_negative else prompt_lines).append(line)
    params = parse_parameter_line(lines[index])
    trailing = "\n".join(lines[index + 1 :]).strip()

    width = height = None
    size = _SIZE.match(params.get("Size", ""))
    if size:
        width, height = int(size.group(1)), int(size.group(2))
    sampler = params.get("Sampler", "")
    schedule = params.get("Schedule type", "")
    strength = to_float(params.get("Denoising strength"))
    mode = Mode.TXT2IMG
    if strength is not None and "Hires upscale" not in params:
        # A1111 writes a denoising strength for img2img; txt2img only has one with hires fix.
        mode = Mode.INPAINT if "Mask blur" in params else Mode.IMG2IMG
    known = {"Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size", "Model", "Denoising strength"}
    extra = {key: value for key, value in params.items() if key not in known}
    if trailing:
        extra["Trailing text"] = trailing
    return ParsedParameters(
        source=source,
        prompt="\n".join(prompt_lines),
        negative_prompt="\n".join(negative_lines),
        model=params.get("Model", ""),
        width=width,
        height=height,
        steps=to_int(params.get("Steps")),
        cfg_scale=to_float(params.get("CFG scale")),
        seed=to_int(params.get("Seed")),
        sampler=f"{sampler} {schedule}".strip() if schedule and schedule != "Automatic" else sampler,
        scheduler=scheduler_for(sampler, schedule),
        strength=strength,
        mode=mode,
        extra=extra,
        raw=text,
    )
