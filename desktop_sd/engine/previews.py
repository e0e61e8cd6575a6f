"""Cheap previews of the latents while the image is being made.

A fixed linear map from the four latent channels to RGB (the factors the
community fitted for SD and SDXL latents) costs next to nothing. When the
TAESD weights are installed locally (``models/taesd``, ``models/taesdxl``,
``models/taesd3``, ``models/taef1``), the tiny autoencoder gives a much closer
preview; it is never downloaded. SD 3 and Flux (16 latent channels) have no
linear map here: without their tiny autoencoder they show no preview.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from diffusers import AutoencoderTiny
from PIL import Image

from desktop_sd.core import paths

log = logging.getLogger(__name__)

SD_LATENT_RGB = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
SD_LATENT_BIAS = (0.0, 0.0, 0.0)
SDXL_LATENT_RGB = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
SDXL_LATENT_BIAS = (0.1084, -0.0175, -0.0011)
DEFAULT_INTERVAL_S = 0.25  # a few previews a second are plenty; each one costs a device sync


LatentRgb = tuple[tuple[float, float, float], ...]


def taesd_folder(xl: bool | str) -> Path:
    """Where TAESD is looked for when nobody says otherwise: ``models/taesd`` or ``models/taesdxl``,
    or ``models/<name>`` for a family's own name (``FamilySpec.taesd_name``)."""
    name = xl if isinstance(xl, str) else ("taesdxl" if xl else "taesd")
    return paths.models_dir() / name


def load_taesd(
    folder: Path | None, device: torch.device, dtype: torch.dtype, channels: int | None = None
) -> AutoencoderTiny | None:
    """The TAESD decoder in ``folder`` (a diffusers folder), or None when absent, unloadable, or made for
    latents of other than ``channels`` channels (TAESD's four for an SD 3 or Flux model's sixteen)."""
    if folder is None or not (folder / "config.json").is_file():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model = AutoencoderTiny.from_pretrained(str(folder), local_files_only=True, torch_dtype=dtype)
    except Exception as exc:  # a broken preview model must never stop a generation
        log.warning("TAESD in %s could not be loaded (%s); using the linear preview", folder, exc)
        return None
    if channels is not None and int(model.config.latent_channels) != channels:
        log.warning(
            "TAESD in %s is for other latents (%s channels, not %s); not used",
            folder,
            model.config.latent_channels,
            channels,
        )
        return None
    return model.to(device).eval()


def linear_preview(
    latents: torch.Tensor, xl: bool, factors: LatentRgb | None = None, bias: tuple[float, float, float] | None = None
) -> Image.Image:
    """RGB preview of the first image's latents (1/8 of the final size), with a family's ``factors``
    and ``bias`` when given, else SD's or SDXL's."""
    if factors is None:
        factors, bias = (SDXL_LATENT_RGB, SDXL_LATENT_BIAS) if xl else (SD_LATENT_RGB, SD_LATENT_BIAS)
    bias = bias or (0.0, 0.0, 0.0)
    first = latents[0].detach().float()
    weights = torch.tensor(factors, device=first.device)
    offset = torch.tensor(bias, device=first.device)
    rgb = torch.einsum("chw,cr->hwr", first, weights) + offset
    array = ((rgb + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).cpu().numpy()
    return Image.fromarray(array, "RGB")


def taesd_preview(taesd: AutoencoderTiny, latents: torch.Tensor) -> Image.Image:
    first = latents[:1].detach().to(taesd.device, taesd.dtype)
    # As a pipeline decodes with TAESD as its VAE: TAESD3 and TAEF1 have a scale and a shift; TAESD has neither.
    scale = float(getattr(taesd.config, "scaling_factor", 1.0) or 1.0)
    shift = float(getattr(taesd.config, "shift_factor", 0.0) or 0.0)
    if scale != 1.0 or shift != 0.0:
        first = first / scale + shift
    with torch.no_grad():
        decoded = taesd.decode(first, return_dict=False)[0][0]
    array = ((decoded.float() + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array, "RGB")


class Previewer:
    """Makes a preview at most every ``interval_s`` seconds; otherwise returns None (and always None
    for a family with neither TAESD installed nor linear factors).

    ``xl`` picks SD's or SDXL's linear factors unless ``factors`` (and ``bias``) are given;
    ``unpack`` turns the step's latents into image-shaped ones (Flux packs them)."""

    def __init__(
        self,
        xl: bool,
        size: tuple[int, int],
        taesd: AutoencoderTiny | None,
        interval_s: float,
        *,
        factors: LatentRgb | None = None,
        bias: tuple[float, float, float] | None = None,
        linear: bool = True,
        unpack: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self._xl = xl
        self._size = size
        self._taesd = taesd
        self._interval = interval_s
        self._factors = factors
        self._bias = bias
        self._linear = linear
        self._unpack = unpack
        self._last = float("-inf")

    def __call__(self, latents: torch.Tensor, force: bool = False) -> Image.Image | None:
        if self._taesd is None and not self._linear:
            return None
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return None
        self._last = now
        if self._unpack is not None:
            latents = self._unpack(latents)
        if self._taesd is not None:
            image = taesd_preview(self._taesd, latents)
        else:
            image = linear_preview(latents, self._xl, self._factors, self._bias)
        if image.size != self._size:
            image = image.resize(self._size, Image.Resampling.BILINEAR)
        return image
