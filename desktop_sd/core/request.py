"""What the app asks the engine for, and what comes back.

Everything here is an immutable value: requests and results cross threads
(worker to GUI) and go into the history store, so nobody may mutate them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from PIL import Image

from desktop_sd.core.params import (
    BATCH_SIZE,
    CFG_SCALE,
    CLIP_SKIP,
    HEIGHT,
    HIRES_SCALE,
    HIRES_STEPS,
    HIRES_STRENGTH,
    HIRES_UPSCALER,
    MASK_FEATHER,
    NEGATIVE_PROMPT,
    OUTPAINT_OVERLAP,
    SCHEDULER,
    STEPS,
    STRENGTH,
    WIDTH,
)


class Mode(StrEnum):
    TXT2IMG = "txt2img"
    IMG2IMG = "img2img"
    INPAINT = "inpaint"
    OUTPAINT = "outpaint"


class MemoryTier(StrEnum):
    """How much of the model lives on the accelerator, best first."""

    GPU = "gpu"  # whole model on the device
    MODEL_OFFLOAD = "model_offload"  # one sub-model at a time on the device
    SEQUENTIAL_OFFLOAD = "sequential_offload"  # layer by layer, tiled VAE, sliced attention


class Family(StrEnum):
    """Model families, detected from the files themselves."""

    SD1 = "sd1"
    SD2 = "sd2"
    SDXL = "sdxl"
    UNKNOWN = "unknown"
    SD3 = "sd3"  # SD 3 / 3.5 (flow matching)
    FLUX = "flux"  # Flux.1 (flow matching)


class ModelFormat(StrEnum):
    DIFFUSERS = "diffusers"  # a folder with model_index.json
    SINGLE_FILE = "single_file"  # one .safetensors checkpoint
    GGUF = "gguf"  # a quantized transformer (.gguf); the rest of the model is the diffusers folder in config_dir


@dataclass(frozen=True)
class ModelRef:
    """A model resolved to files on disk: what the engine needs to load it.

    ``config_dir`` is a diffusers-layout folder of configs and tokenizer files
    (shipped in ``resources/model-configs``) that single-file checkpoints need
    to load with no network; for an SD 3 / Flux transformer file it may instead be
    an installed diffusers model that supplies the text encoders and VAE. ``parts``:
    files holding the parts such a transformer file lacks (ComfyUI's split text
    encoders and VAE), loaded with the shipped configs.
    """

    id: str
    path: Path
    format: ModelFormat
    family: Family = Family.UNKNOWN
    inpainting: bool = False
    config_dir: Path | None = None
    parts: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Borders:
    """Outpaint borders in pixels, added around the init image."""

    left: int = 0
    top: int = 0
    right: int = 0
    bottom: int = 0

    @property
    def any(self) -> bool:
        return any((self.left, self.top, self.right, self.bottom))

    @classmethod
    def parse(cls, text: str) -> Borders:
        """Parse ``L,T,R,B`` (as given on the command line)."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            raise ValueError(f"outpaint borders must be four numbers L,T,R,B, got {text!r}")
        try:
            left, top, right, bottom = (int(p) for p in parts)
        except ValueError:
            raise ValueError(f"outpaint borders must be whole numbers, got {text!r}") from None
        return cls(left, top, right, bottom)

    def __str__(self) -> str:
        return f"{self.left},{self.top},{self.right},{self.bottom}"


def strength_for(mode: Mode, given: float | None) -> float:
    """The strength to run at: ``given`` when the user gave one, else full strength for
    outpainting (the new area holds only a rough fill, nothing worth keeping), else the default."""
    if given is not None:
        return given
    return STRENGTH.maximum if mode is Mode.OUTPAINT else STRENGTH.default


@dataclass(frozen=True, eq=False)
class GenerationRequest:
    """One generation job. ``seed=None`` means draw a random seed.

    Defaults and ranges come from the parameter table (``core.params``).
    """

    mode: Mode
    prompt: str
    negative_prompt: str = NEGATIVE_PROMPT.default
    model: str = ""
    width: int = WIDTH.default
    height: int = HEIGHT.default
    steps: int = STEPS.default
    cfg_scale: float = CFG_SCALE.default
    seed: int | None = None
    scheduler: str = SCHEDULER.default
    strength: float = STRENGTH.default
    init_image: Image.Image | None = field(default=None, repr=False)
    mask: Image.Image | None = field(default=None, repr=False)
    outpaint: Borders = Borders()
    batch_size: int = BATCH_SIZE.default
    mask_feather: int = MASK_FEATHER.default
    outpaint_overlap: int = OUTPAINT_OVERLAP.default  # the original changes at most this far from its edge
    device: str = "auto"
    loras: tuple[tuple[str, float], ...] = ()  # (name, weight) from the LoRA picker; prompt tags add to these
    vae: str = ""  # a separate VAE's name or path; "" = the model's own
    clip_skip: int = CLIP_SKIP.default  # A1111's numbering: 1 = the text encoder's last layer
    prompt_weights: bool = True  # read A1111's syntax: (word:1.2), [word], BREAK, prompts past 75 tokens
    # The textual-inversion embeddings the prompts used, as A1111's "TI hashes" ("name: hash, ..."); the
    # engine fills it in the request it returns.
    ti_hashes: str = ""
    hires_scale: float = HIRES_SCALE.default  # hires fix (``core.hires``): 1 = off
    hires_steps: int = HIRES_STEPS.default
    hires_strength: float = HIRES_STRENGTH.default
    hires_upscaler: str = HIRES_UPSCALER.default
    fast_decode: bool = False  # decode with TAESD (the tiny autoencoder) when it is installed: much faster

    def replace(self, **changes: Any) -> GenerationRequest:
        return dataclasses.replace(self, **changes)

    def parameters(self) -> dict[str, Any]:
        """The request as plain JSON-able data (images left out)."""
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in ("init_image", "mask"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, Borders):
                value = dataclasses.asdict(value)
            elif isinstance(value, StrEnum):
                value = str(value)
            elif f.name == "loras":
                value = [[name, weight] for name, weight in value]
            data[f.name] = value
        data["has_init_image"] = self.init_image is not None
        data["has_mask"] = self.mask is not None
        return data

    @classmethod
    def from_parameters(cls, data: dict[str, Any]) -> GenerationRequest:
        """Inverse of :meth:`parameters` (images are not restored)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"init_image", "mask"}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["mode"] = Mode(kwargs.get("mode", Mode.TXT2IMG))
        if isinstance(kwargs.get("outpaint"), dict):
            kwargs["outpaint"] = Borders(**kwargs["outpaint"])
        if "loras" in kwargs:  # JSON gives lists back
            kwargs["loras"] = tuple((str(name), float(weight)) for name, weight in kwargs["loras"])
        return cls(**kwargs)


@dataclass(frozen=True, eq=False)
class GenerationResult:
    """Images plus the exact parameters used.

    ``request`` is the request as it was really run: sizes after snapping,
    the seed actually drawn. ``seeds`` holds one seed per image (a batch uses
    ``batch_seeds``: ``seed, seed + 1, ...``); ``request.scheduler`` is the id that ran ("default"
    becomes the model's own scheduler's id when one matches it). ``model_hash``
    is A1111's ``Model hash`` of a single-file checkpoint ("" otherwise). A
    result from a ComfyUI server names it in ``server`` and keeps, per image,
    the API graph submitted for it (JSON) in ``graphs``, which the image's
    metadata stores so ComfyUI can load it.
    """

    images: tuple[Image.Image, ...]
    request: GenerationRequest
    seeds: tuple[int, ...]
    model_id: str
    device: str
    tier: MemoryTier
    notices: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    server: str = ""  # the ComfyUI server's name; empty for the local engine
    graphs: tuple[str, ...] = ()  # one submitted ComfyUI API graph (JSON) per image; empty for the local engine
    model_hash: str = ""
    lora_hashes: tuple[tuple[str, str], ...] = ()  # (name, A1111's short LoRA hash) of each LoRA that ran
    vae_hash: str = ""  # A1111's "VAE hash" of a separate VAE file
    postprocessing: str = ""  # an upscale's A1111 extras text ("Postprocess upscale by: 4, ..."); "" otherwise
