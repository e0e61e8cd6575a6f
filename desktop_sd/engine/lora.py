"""LoRAs on the loaded model: loaded with diffusers' ``load_lora_weights`` (peft), kept between jobs, switched per job.

Each file becomes one named peft adapter in the shared UNet (SD 3 and Flux: transformer)
and text encoders (every mode's pipeline shares them). A job sets the adapters it names, with
their weights; a job that names none switches LoRA off, so the model gives
exactly its own output again. Files are checked from their header first: a
LyCORIS kind diffusers cannot load, a file that is no LoRA, or one made for
another model family fails with a message naming the problem.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from diffusers import DiffusionPipeline

from desktop_sd.core.errors import InputError, ModelError
from desktop_sd.core.loras import FAMILY_NAMES, is_lora, lora_family, lycoris_kind
from desktop_sd.core.request import Family
from desktop_sd.engine.flow_loras import check_naming, lora_source, pipeline_family
from desktop_sd.engine.loading import read_tensor_table

MAX_KEPT = 8  # adapters kept loaded; the least recently used beyond this are deleted


@dataclass(frozen=True)
class LoraFile:
    """A LoRA a job asks for: its name (for messages and metadata), file and weight."""

    name: str
    path: Path
    weight: float


@dataclass(frozen=True)
class _Adapter:
    adapter: str  # the peft adapter name
    stamp: tuple[int, int]  # the file's (size, mtime) when it was loaded: a changed file is loaded again


def model_family(pipe: DiffusionPipeline) -> Family:
    """The family of a loaded pipeline, from its transformer (SD 3, Flux) or its UNet."""
    flow = pipeline_family(pipe)
    if flow is not None:
        return flow
    if hasattr(pipe, "text_encoder_2"):
        return Family.SDXL
    cross = pipe.unet.config.cross_attention_dim
    return Family.SD2 if cross == 1024 else Family.SD1


def check_lora_file(lora: LoraFile, family: Family) -> None:
    """Refuse, from the header alone, a file that is no LoRA, a LyCORIS kind diffusers cannot load,
    or a LoRA made for another model family."""
    if lora.path.suffix.lower() != ".safetensors":
        raise InputError(f"LoRA {lora.name!r} ({lora.path.name}) is not a .safetensors file; only those are loaded.")
    try:
        table = read_tensor_table(lora.path)
    except ModelError as exc:
        raise InputError(f"LoRA {lora.name!r}: {exc}") from None
    shapes = {name: shape for name, (_, shape) in table.items()}
    kind = lycoris_kind(shapes)
    if kind is not None:
        raise InputError(
            f"LoRA {lora.name!r} is a LyCORIS {kind} file, which Desktop SD cannot load (diffusers loads LoRA "
            "and LoCon files only). Use a LoRA or LoCon version of it."
        )
    if not is_lora(shapes):
        raise InputError(f"{lora.path.name} is not a LoRA file (its tensors are not LoRA weights).")
    made_for = lora_family(shapes)
    if made_for is not Family.UNKNOWN and made_for is not family:
        raise InputError(
            f"LoRA {lora.name!r} is made for {FAMILY_NAMES[made_for]} models, but the model in use is "
            f"{FAMILY_NAMES[family]}. Choose a {FAMILY_NAMES[family]} LoRA, or a {FAMILY_NAMES[made_for]} model."
        )
    check_naming(lora.name, shapes, family)


class LoraSet:
    """The adapters loaded into one model, by file."""

    def __init__(self) -> None:
        self._loaded: OrderedDict[str, _Adapter] = OrderedDict()  # resolved path -> adapter, oldest first
        self._count = 0
        self._active = False

    @property
    def loaded(self) -> int:
        return len(self._loaded)

    def apply(self, pipe: DiffusionPipeline, loras: list[LoraFile], before_load: Callable[[], None]) -> bool:
        """Make ``pipe`` run with exactly ``loras`` at their weights (none: LoRA off).

        ``before_load()`` runs before new weights go in (it takes the offload hooks off).
        Returns True when new weights were loaded (the model must be placed again).
        """
        wanted = [lora for lora in loras if lora.weight != 0]
        if not wanted:
            if self._active:
                pipe.disable_lora()
                self._active = False
            return False
        family = model_family(pipe)
        changed = False
        names: list[str] = []
        for lora in wanted:
            key = str(lora.path.resolve())
            stamp = _stamp(lora.path)
            known = self._loaded.get(key)
            if known is not None and known.stamp != stamp:
                self._delete(pipe, key)
                known = None
            if known is None:
                check_lora_file(lora, family)
                before_load()
                known = self._load(pipe, lora, key, stamp, family)
                changed = True
            self._loaded.move_to_end(key)
            names.append(known.adapter)
        self._trim(pipe, keep=set(names))
        pipe.enable_lora()
        pipe.set_adapters(names, [lora.weight for lora in wanted])
        self._active = True
        return changed

    def _load(
        self, pipe: DiffusionPipeline, lora: LoraFile, key: str, stamp: tuple[int, int], family: Family
    ) -> _Adapter:
        self._count += 1
        adapter = f"lora{self._count}_{re.sub(r'[^A-Za-z0-9_]', '_', lora.path.stem)[:40]}"
        try:
            pipe.load_lora_weights(lora_source(lora.path, family), adapter_name=adapter)
        except (RuntimeError, ValueError, KeyError, AssertionError) as exc:
            self._forget_adapter(pipe, adapter)
            text = str(exc)
            # diffusers' Flux converters assert that a fused layer splits at FLUX.1's sizes
            if "size mismatch" in text or isinstance(exc, AssertionError):
                raise InputError(
                    f"LoRA {lora.name!r} does not fit the model in use ({FAMILY_NAMES[family]}): its layer sizes "
                    f"differ, so it was made for another model family. Choose a {FAMILY_NAMES[family]} LoRA."
                ) from None
            first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
            raise InputError(f"LoRA {lora.name!r} could not be loaded ({first[:240]}).") from None
        found = _adapter_names(pipe)
        if adapter not in found:
            raise InputError(
                f"LoRA {lora.name!r} matched no layer of the model in use ({FAMILY_NAMES[family]}); "
                "it was made for another kind of model."
            )
        entry = _Adapter(adapter, stamp)
        self._loaded[key] = entry
        return entry

    def _trim(self, pipe: DiffusionPipeline, keep: set[str]) -> None:
        for key, entry in list(self._loaded.items()):
            if len(self._loaded) <= MAX_KEPT:
                break
            if entry.adapter not in keep:
                self._delete(pipe, key)

    def _delete(self, pipe: DiffusionPipeline, key: str) -> None:
        entry = self._loaded.pop(key)
        self._forget_adapter(pipe, entry.adapter)

    @staticmethod
    def _forget_adapter(pipe: DiffusionPipeline, adapter: str) -> None:
        if adapter in _adapter_names(pipe):
            pipe.delete_adapters([adapter])


def _adapter_names(pipe: DiffusionPipeline) -> set[str]:
    names: set[str] = set()
    for adapters in pipe.get_list_adapters().values():
        names.update(adapters)
    return names


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        raise InputError(f"The LoRA file {path} is missing. Install it again, or remove it from the prompt.") from None
    return stat.st_size, stat.st_mtime_ns
