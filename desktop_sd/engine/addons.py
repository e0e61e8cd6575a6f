"""A job's add-ons on the loaded model: its LoRAs (prompt tags and picker) and its VAE, set before the run.

SD 1.x/2.x and SDXL take both; SD 3 and Flux take LoRAs only (``apply_loras``), and a family that took
neither would refuse both by name (``refuse_extras``).

Names become files through an injected finder (the model registry knows where
add-ons are installed; the engine never looks anything up itself).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DiffusionPipeline

from desktop_sd.core import paths
from desktop_sd.core.errors import InputError
from desktop_sd.core.file_hash import lora_hash, model_hash
from desktop_sd.core.loras import prompt_loras
from desktop_sd.core.request import GenerationRequest
from desktop_sd.engine.lora import LoraFile, LoraSet
from desktop_sd.engine.vae import load_vae, swap_vae

AddonFinder = Callable[[str, str], Path]  # (kind: "lora" or "vae", name) -> the file or folder; raises InputError


def find_by_path(kind: str, name: str) -> Path:
    """The finder used when none is given: ``name`` must be the path of an existing file or folder."""
    path = Path(name).expanduser()
    if path.exists():
        return path
    what = "LoRA" if kind == "lora" else "VAE"
    raise InputError(f"The {what} {name!r} was not found: give the path of its file.")


@dataclass(frozen=True)
class AppliedAddons:
    """What ran, for the metadata: A1111's hashes of the LoRA files and of the VAE file."""

    prompt: str  # the prompt without its LoRA tags
    negative_prompt: str
    lora_hashes: tuple[tuple[str, str], ...] = ()
    vae_hash: str = ""


def refuse_extras(family: str, request: GenerationRequest) -> AppliedAddons:
    """For a family that takes no LoRA or separate VAE (SD 3, Flux): an ``InputError`` naming what the
    request asked for, or the prompts without their ``<lora:>`` tags when it asked for none."""
    prompt, negative, loras = prompt_loras(request.prompt, request.negative_prompt, request.loras)
    asked = [f"LoRA {name!r}" for name, _ in loras] + ([f"VAE {request.vae!r}"] if request.vae else [])
    if asked:
        raise InputError(
            f"{family} models take no LoRA or separate VAE in this version ({', '.join(asked)}). "
            "Turn them off, or choose an SD 1.x, 2.x or SDXL model."
        )
    return AppliedAddons(prompt, negative)


class ModelAddons:
    """The LoRAs and VAE currently in one loaded model."""

    def __init__(
        self, pipes: Callable[[], list[DiffusionPipeline]], dtype: torch.dtype, detach: Callable[[], None]
    ) -> None:
        """``pipes()`` gives the model's pipelines; ``detach()`` takes its placement off before weights change."""
        self._pipes = pipes
        self._dtype = dtype
        self._detach = detach
        self.loras = LoraSet()
        self._own_vae: AutoencoderKL | None = None
        self._vae_path: str = ""  # "" while the model's own VAE is in

    def apply(self, request: GenerationRequest, find: AddonFinder, pipe: DiffusionPipeline) -> AppliedAddons:
        """Set ``request``'s VAE and LoRAs on the model; raises ``InputError`` naming what is wrong."""
        prompt, negative, wanted = prompt_loras(request.prompt, request.negative_prompt, request.loras)
        files = [LoraFile(name, find("lora", name), weight) for name, weight in wanted]
        vae_path = find("vae", request.vae) if request.vae else None
        self._set_vae(vae_path)
        hashes = self._set_loras(pipe, files)
        vae_hash = _hash(model_hash, vae_path, "model-hashes.json") if vae_path is not None else ""
        return AppliedAddons(prompt, negative, hashes, vae_hash)

    def apply_loras(
        self, request: GenerationRequest, find: AddonFinder, pipe: DiffusionPipeline, family: str
    ) -> AppliedAddons:
        """For a family that takes LoRAs but no separate VAE (SD 3, Flux): set ``request``'s LoRAs, or raise
        ``InputError`` naming the VAE it asked for (before any weight loads)."""
        if request.vae:
            raise InputError(
                f"{family} models take no separate VAE in this version (VAE {request.vae!r}). "
                "Set the VAE back to the model's own, or choose an SD 1.x, 2.x or SDXL model."
            )
        prompt, negative, wanted = prompt_loras(request.prompt, request.negative_prompt, request.loras)
        files = [LoraFile(name, find("lora", name), weight) for name, weight in wanted]
        return AppliedAddons(prompt, negative, self._set_loras(pipe, files))

    def _set_loras(self, pipe: DiffusionPipeline, files: list[LoraFile]) -> tuple[tuple[str, str], ...]:
        """Set ``files`` on the model; A1111's ``Lora hashes`` of those that run (weight 0 does not)."""
        self.loras.apply(pipe, files, self._detach)
        return tuple((f.name, _hash(lora_hash, f.path, "lora-hashes.json")) for f in files if f.weight != 0)

    def _set_vae(self, path: Path | None) -> None:
        key = f"{path.resolve()}@{path.stat().st_mtime_ns}" if path is not None else ""  # a changed file loads again
        if key == self._vae_path:
            return
        pipes = self._pipes()
        if self._own_vae is None:
            self._own_vae = pipes[0].vae
        assert self._own_vae is not None
        vae = self._own_vae if path is None else load_vae(path, self._own_vae, self._dtype)
        self._detach()
        old = pipes[0].vae
        swap_vae(pipes, vae)
        if old is not self._own_vae:
            del old  # a separate VAE is loaded again when asked for again
        else:
            old.to("cpu")  # kept for later jobs, off the device
        self._vae_path = key


def _hash(how: Callable[[Path, Path], str], path: Path, cache: str) -> str:
    if not path.is_file():
        return ""  # a diffusers folder has no A1111 hash
    try:
        return how(path, paths.cache_dir() / cache)
    except OSError:
        return ""
