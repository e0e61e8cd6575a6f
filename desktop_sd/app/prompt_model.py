"""The prompt panel's settings as a model the panel binds to.

``PromptValues`` is an immutable snapshot (saved in settings and in project
files as plain JSON); ``PromptModel`` holds the current one and says when it
changes, so widgets, the canvas frame and the settings file stay in step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_sd.core.params import (
    BATCH_SIZE,
    CFG_SCALE,
    CLIP_SKIP,
    HEIGHT,
    HIRES_NUMBER_PARAMS,
    HIRES_STEPS,
    HIRES_STRENGTH,
    HIRES_UPSCALER,
    MASK_FEATHER,
    NEGATIVE_PROMPT,
    NUMBER_PARAMS,
    OUTPAINT_OVERLAP,
    PROMPT,
    SCHEDULER,
    SEED,
    STEPS,
    STRENGTH,
    WIDTH,
    draw_seed,
)
from desktop_sd.core.request import GenerationRequest, Mode


@dataclass(frozen=True)
class PromptValues:
    """The panel's settings; defaults, and the ranges ``from_dict`` clamps to, come from ``core.params``."""

    prompt: str = PROMPT.default
    negative_prompt: str = NEGATIVE_PROMPT.default
    model: str = ""
    scheduler: str = SCHEDULER.default
    steps: int = STEPS.default
    cfg_scale: float = CFG_SCALE.default
    seed: int = SEED.default
    random_seed: bool = True
    width: int = WIDTH.default
    height: int = HEIGHT.default
    strength: float = STRENGTH.default
    mask_feather: int = MASK_FEATHER.default
    outpaint_overlap: int = OUTPAINT_OVERLAP.default
    batch_size: int = BATCH_SIZE.default
    loras: tuple[tuple[str, float], ...] = ()  # the LoRA picker's (name, weight), switched-on ones only
    vae: str = ""  # a separate VAE's name; "" = the model's own
    clip_skip: int = CLIP_SKIP.default
    prompt_weights: bool = True  # the app setting of the same name, kept here so each job carries it
    hires: bool = False  # the Hires section's switch; off, requests carry a hires scale of 1
    hires_scale: float = 2.0
    hires_steps: int = HIRES_STEPS.default
    hires_strength: float = HIRES_STRENGTH.default
    hires_upscaler: str = HIRES_UPSCALER.default
    fast_decode: bool = False  # decode with TAESD when installed: drafts in well under a second on a CPU

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> PromptValues:
        """Values from saved JSON; missing, mistyped or out-of-range entries fall back or are clamped."""
        if not isinstance(data, dict):
            return cls()
        defaults = cls()
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            value, default = data.get(f.name), getattr(defaults, f.name)
            if f.name == "loras":
                ok, value = True, _loras_from_json(value)
            elif isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, (int, float)):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                spec = NUMBER_PARAMS.get(f.name) or HIRES_NUMBER_PARAMS.get(f.name)
                if isinstance(value, (int, float)) and spec is not None:
                    value = spec.clamp(value)
            else:
                ok = isinstance(value, str)
            if ok:
                kwargs[f.name] = value
        if kwargs.get("scheduler") not in SCHEDULER.choices:
            kwargs.pop("scheduler", None)
        return cls(**kwargs)

    def to_request(self) -> GenerationRequest:
        """The prompt part of a request; the canvas fills in mode, size and images.

        A random seed is drawn here, so the job's seed is known when it is queued.
        """
        seed = draw_seed() if self.random_seed else self.seed
        return GenerationRequest(
            mode=Mode.TXT2IMG,
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            model=self.model,
            width=self.width,
            height=self.height,
            steps=self.steps,
            cfg_scale=self.cfg_scale,
            seed=seed,
            scheduler=self.scheduler,
            strength=self.strength,
            batch_size=self.batch_size,
            mask_feather=self.mask_feather,
            outpaint_overlap=self.outpaint_overlap,
            loras=self.loras,
            vae=self.vae,
            clip_skip=self.clip_skip,
            prompt_weights=self.prompt_weights,
            hires_scale=self.hires_scale if self.hires else 1.0,
            hires_steps=self.hires_steps,
            hires_strength=self.hires_strength,
            hires_upscaler=self.hires_upscaler,
            fast_decode=self.fast_decode,
        )

    @classmethod
    def from_request(cls, request: GenerationRequest, base: PromptValues) -> PromptValues:
        """``base`` with the parameters of ``request`` (for "reuse parameters")."""
        seed = request.seed if request.seed is not None else base.seed
        return dataclasses.replace(
            base,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            model=request.model or base.model,
            scheduler=request.scheduler if request.scheduler in SCHEDULER.choices else base.scheduler,
            steps=request.steps,
            cfg_scale=request.cfg_scale,
            seed=seed,
            random_seed=request.seed is None,
            width=request.width,
            height=request.height,
            strength=request.strength,
            mask_feather=request.mask_feather,
            outpaint_overlap=request.outpaint_overlap,
            batch_size=request.batch_size,
            loras=request.loras,
            vae=request.vae,
            clip_skip=request.clip_skip,
            hires=request.hires_scale > 1.0,
            hires_scale=request.hires_scale if request.hires_scale > 1.0 else base.hires_scale,
            hires_steps=request.hires_steps,
            hires_strength=request.hires_strength,
            hires_upscaler=request.hires_upscaler,
        )


def _loras_from_json(value: object) -> tuple[tuple[str, float], ...]:
    """Saved (name, weight) pairs; anything malformed is left out."""
    pairs: list[tuple[str, float]] = []
    for item in value if isinstance(value, list | tuple) else []:
        if isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str):
            weight = item[1]
            if isinstance(weight, int | float) and not isinstance(weight, bool):
                pairs.append((item[0], float(weight)))
    return tuple(pairs)


class PromptModel(QObject):
    changed = Signal(object)  # PromptValues
    last_seed_changed = Signal(object)  # int | None

    def __init__(self, values: PromptValues | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._values = values or PromptValues()
        self._last_seed: int | None = None

    @property
    def values(self) -> PromptValues:
        return self._values

    @property
    def last_seed(self) -> int | None:
        return self._last_seed

    def update(self, **changes: Any) -> None:
        """Change some fields; emits ``changed`` only when something really changed."""
        self.set_values(dataclasses.replace(self._values, **changes))

    def set_values(self, values: PromptValues) -> None:
        if values != self._values:
            self._values = values
            self.changed.emit(values)

    def set_last_seed(self, seed: int | None) -> None:
        if seed != self._last_seed:
            self._last_seed = seed
            self.last_seed_changed.emit(seed)

    def reuse_last_seed(self) -> None:
        """Fix the seed to the one last used (one click in the panel)."""
        if self._last_seed is not None:
            self.update(seed=self._last_seed, random_seed=False)
