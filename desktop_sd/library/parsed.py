"""Generation parameters read back from an image, whichever tool wrote them.

Every reader (A1111, ComfyUI, InvokeAI, Fooocus, NovelAI, our own) fills the
same ``ParsedParameters``; fields a tool did not write stay ``None`` or empty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from desktop_sd.core.hires import fields_from_a1111
from desktop_sd.core.params import CFG_SCALE, HEIGHT, SCHEDULER, STEPS, STRENGTH, WIDTH
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.schedulers import SCHEDULER_IDS, from_a1111
from desktop_sd.library.prompt_metadata import prompt_fields

# Tool names as ``ParsedParameters.source`` gives them.
DESKTOP_SD = "Desktop SD"
A1111 = "AUTOMATIC1111"
COMFYUI = "ComfyUI"
INVOKEAI = "InvokeAI"
FOOOCUS = "Fooocus"
NOVELAI = "NovelAI"
DRAW_THINGS = "Draw Things"

# Sampler names other tools write (ComfyUI, InvokeAI, Fooocus, old k-diffusion) -> our scheduler id.
_SAMPLER_ALIASES: dict[str, str] = {
    "ddim": "ddim",
    "lms": "lms",
    "k_lms": "lms",
    "euler": "euler",
    "k_euler": "euler",
    "euler_a": "euler_a",
    "euler_ancestral": "euler_a",
    "k_euler_a": "euler_a",
    "k_euler_ancestral": "euler_a",
    "heun": "heun",
    "k_heun": "heun",
    "dpm2": "dpm2",
    "dpm_2": "dpm2",
    "k_dpm_2": "dpm2",
    "kdpm_2": "dpm2",
    "dpm2_a": "dpm2_a",
    "dpm_2_ancestral": "dpm2_a",
    "k_dpm_2_a": "dpm2_a",
    "k_dpm_2_ancestral": "dpm2_a",
    "kdpm_2_a": "dpm2_a",
    "dpmpp_2m": "dpmpp_2m",
    "k_dpmpp_2m": "dpmpp_2m",
    "sample_dpmpp_2m": "dpmpp_2m",
    "dpmpp_2m_k": "dpmpp_2m_karras",
    "dpmpp_sde": "dpmpp_sde",
    "dpmpp_sde_gpu": "dpmpp_sde",
    "dpmpp_sde_k": "dpmpp_sde_karras",
    "dpmpp_2m_sde": "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu": "dpmpp_2m_sde",
    "dpmpp_2m_sde_k": "dpmpp_2m_sde_karras",
    "pndm": "pndm",
    "plms": "pndm",
    "k_plms": "pndm",
    "uni_pc": "unipc",
    "unipc": "unipc",
    "uni_pc_bh2": "unipc",
    "lcm": "lcm",
}

# Samplers whose Karras-scheduled variant has its own id here.
_KARRAS_VARIANTS = {
    "dpmpp_2m": "dpmpp_2m_karras",
    "dpmpp_sde": "dpmpp_sde_karras",
    "dpmpp_2m_sde": "dpmpp_2m_sde_karras",
}


def scheduler_for(sampler: str, schedule: str = "") -> str:
    """Our scheduler id for a sampler name written by any supported tool; "default" when unknown."""
    name = (sampler or "").strip()
    if not name:
        return "default"
    a1111 = from_a1111(name, schedule)
    if a1111 is not None:
        return a1111
    key = name.lower().replace(" ", "_").replace("++", "pp").replace("+", "p")
    for suffix in ("_karras", "_k"):  # A1111 folds "Karras" into the name, InvokeAI writes "_k"
        if key not in _SAMPLER_ALIASES and key.endswith(suffix):
            key, schedule = key[: -len(suffix)], "karras"
    scheduler = _SAMPLER_ALIASES.get(key)
    if scheduler is None:
        return "default"
    if schedule.strip().lower() == "karras":
        scheduler = _KARRAS_VARIANTS.get(scheduler, scheduler)
    return scheduler if scheduler in SCHEDULER_IDS else "default"


def json_object(text: str) -> dict[str, Any] | None:
    """``text`` parsed as a JSON object, or None for anything else (never raises)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def to_int(value: Any) -> int | None:
    """An int from whatever a tool wrote (int, float, numeric string); None if it is not one.

    Whole numbers written as digits are read exactly (a seed of 6952411511246973023 must not
    pass through a float, which would make it ...2928); only "12.0"-style text goes through one.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("+-").isdigit() and text.isascii():
        return int(text)
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number)


def to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number


def to_text(value: Any) -> str:
    """A prompt from a value that may be a string, a list of strings or of ``{"prompt": ...}``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [to_text(item.get("prompt") if isinstance(item, dict) else item) for item in value]
        return ", ".join(p for p in parts if p)
    return str(value)


@dataclass(frozen=True)
class ParsedParameters:
    """What an image says about how it was made.

    ``sampler`` is the name as the tool wrote it; ``scheduler`` is our id for it
    ("default" when we have no equivalent). ``request`` holds our own full
    request parameters when Desktop SD wrote the image. ``extra`` keeps every
    other key the tool wrote, as text.
    """

    source: str
    prompt: str = ""
    negative_prompt: str = ""
    model: str = ""
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    seed: int | None = None
    sampler: str = ""
    scheduler: str = "default"
    strength: float | None = None
    mode: Mode = Mode.TXT2IMG
    extra: Mapping[str, str] = field(default_factory=dict)
    raw: str = field(default="", repr=False)
    request: Mapping[str, Any] | None = field(default=None, repr=False)

    def to_request(self) -> GenerationRequest:
        """A request with these parameters (defaults where the image said nothing; no init image or mask)."""
        if self.request is not None:
            try:
                return GenerationRequest.from_parameters(dict(self.request))
            except (TypeError, ValueError):
                pass  # damaged or foreign JSON: fall back to the plain fields below
        return request_from_fields(self)


def request_from_fields(source: Any) -> GenerationRequest:
    """A request from an object with the plain parameter fields (``ParsedParameters``, ``ImageRecord``),
    with the table's defaults where they are empty; used when no stored request JSON can be read."""
    return GenerationRequest(
        mode=source.mode,
        prompt=source.prompt,
        negative_prompt=source.negative_prompt,
        model=source.model,
        width=source.width or WIDTH.default,
        height=source.height or HEIGHT.default,
        steps=source.steps or STEPS.default,
        cfg_scale=source.cfg_scale if source.cfg_scale is not None else CFG_SCALE.default,
        seed=source.seed,
        scheduler=source.scheduler if source.scheduler in SCHEDULER.choices else SCHEDULER.default,
        strength=source.strength if source.strength is not None else STRENGTH.default,
        vae=vae_from_fields(getattr(source, "extra", None) or {}),
        **prompt_fields(getattr(source, "extra", None) or {}),
        **fields_from_a1111(getattr(source, "extra", None) or {}, source.strength),
    )


def vae_from_fields(extra: Mapping[str, str]) -> str:
    """The separate VAE an A1111 image names (``VAE: name.safetensors``), by its file stem; "" for none."""
    name = str(extra.get("VAE", "")).strip()
    if not name or name.lower() in ("none", "automatic"):
        return ""
    return name.rsplit(".", 1)[0] if name.lower().endswith((".safetensors", ".pt", ".ckpt")) else name
