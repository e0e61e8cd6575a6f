"""Loading a ``ModelRef`` into a diffusers pipeline: offline, no code from model files, no pickles.

Everything that can be checked before reading weights is checked first, so a
bad file fails in milliseconds with a message naming the problem: safetensors
headers (truncated or corrupt files), pickle checkpoints, custom code, missing
offline configs, and whether the model fits in free RAM.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import torch
from diffusers import AutoencoderKL, DiffusionPipeline, GGUFQuantizationConfig
from safetensors import SafetensorError, safe_open

from desktop_sd.core import flow_parts
from desktop_sd.core.backend import report_phase
from desktop_sd.core.errors import Cancelled, ModelError, OutOfMemoryError
from desktop_sd.core.model_files import PICKLE_SUFFIXES, check_fits_memory
from desktop_sd.core.request import Family, ModelFormat, ModelRef
from desktop_sd.engine import assembled
from desktop_sd.engine.device import is_out_of_memory
from desktop_sd.engine.families import FamilySpec, spec_for_class_name, spec_for_family
from desktop_sd.engine.interrupt import between_components

TRUSTED_LIBRARIES = ("diffusers", "transformers")
FAMILY_NAMES = "Stable Diffusion 1.x, 2.x, SDXL, SD 3 / 3.5 or Flux.1"
CORRUPTION_WORDS = ("safetensor", "header", "deserializ", "incomplete", "truncat")
# safetensors' dtype names; floating-point tensors are cast to the device's precision on loading
_FLOAT_DTYPES = ("F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2")
_DTYPE_BYTES = {"I64": 8, "U64": 8, "I32": 4, "U32": 4, "I16": 2, "U16": 2}


@dataclass(frozen=True)
class ModelPlan:
    """What was learned about a model before loading it."""

    spec: FamilySpec  # the model's family
    inpainting: bool  # a dedicated inpainting model (9-channel UNet, Flux Fill)
    variant: str | None  # "fp16" when a diffusers folder holds only fp16 weight files
    need_bytes: int  # memory the weights take once loaded at the target dtype
    without: tuple[str, ...] = ()  # optional components the folder lacks, loaded as None (SD 3 without T5)
    # an SD 3 / Flux transformer file with the shipped configs: each part's (file, prefix of its tensors)
    parts: tuple[tuple[str, tuple[Path, str]], ...] = ()


def _size(n: int) -> str:
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{max(n, 0) / 1024**2:.0f} MB"


def available_ram() -> int:
    return int(psutil.virtual_memory().available)


def plan_model(ref: ModelRef, dtype: torch.dtype) -> ModelPlan:
    """Check a model's files without loading weights; raises ModelError naming what is wrong."""
    if not ref.path.exists():
        raise ModelError(f"The model {ref.id!r} is missing: {ref.path} does not exist. Install or locate it again.")
    if ref.format is ModelFormat.SINGLE_FILE:
        return _plan_single_file(ref, dtype)
    if ref.format is ModelFormat.GGUF:
        return _plan_transformer_file(ref, dtype)
    return _plan_folder(ref, dtype)


def _plan_transformer_file(ref: ModelRef, dtype: torch.dtype) -> ModelPlan:
    """A transformer file (GGUF, or an SD 3 / Flux ``.safetensors``), run with the rest of the installed
    model in ``ref.config_dir``."""
    check_fits_memory(ref.path)
    base = ref.config_dir
    if assembled.is_config_only(base):
        return _plan_assembled(ref, dtype)
    if base is None or not (Path(base) / "model_index.json").is_file():
        raise ModelError(
            f"{ref.path.name} holds only a transformer, and the model that supplies its text encoders "
            "and VAE is not installed. Install the matching model from Models > Download, then choose the file again."
        )
    plan = _plan_folder(ModelRef(ref.id, Path(base), ModelFormat.DIFFUSERS, ref.family), dtype, skip=("transformer",))
    if plan.spec.transformer_class is None:
        raise ModelError(f"{ref.path.name}: transformer files run only in a Flux.1 or SD 3 model.")
    return dataclasses.replace(plan, need_bytes=plan.need_bytes + ref.path.stat().st_size)


def _plan_assembled(ref: ModelRef, dtype: torch.dtype) -> ModelPlan:
    """A transformer file whose other parts come from itself and split files, with the shipped configs."""
    spec = spec_for_family(ref.family)
    if spec is None or spec.transformer_class is None:
        raise ModelError(f"{ref.path.name}: transformer files run only as Flux.1 or SD 3 models.")
    try:
        found = assembled.locate_parts(ref)
    except SafetensorError as exc:
        raise ModelError(
            f"A file holding part of {ref.path.name} is corrupt or incomplete ({exc}). Copy it again."
        ) from None
    assembled.check_parts(ref, found)
    prefixes: dict[Path, list[str]] = {}
    for path, prefix in found.values():
        prefixes.setdefault(path, []).append(prefix)
    need = 0
    for path, starts in prefixes.items():
        if path.suffix.lower() == ".gguf" and path == ref.path:
            need += path.stat().st_size  # the transformer stays quantized
            continue
        if path.suffix.lower() == ".gguf":  # a T5 encoder, dequantized on loading
            need += _table_bytes({k: ("F32", s) for k, s in assembled.file_shapes(path).items()}, dtype)
            continue
        table = read_tensor_table(path)  # each tensor counted once, whichever parts share the file
        need += _table_bytes({k: v for k, v in table.items() if k.startswith(tuple(starts))}, dtype)
    without = () if flow_parts.T5 in found or ref.family is not Family.SD3 else spec.optional_components
    return ModelPlan(spec, ref.inpainting, None, need, without, tuple(found.items()))


def _plan_single_file(ref: ModelRef, dtype: torch.dtype) -> ModelPlan:
    path = ref.path
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelError(
            f"{path.name} is a pickle checkpoint, which can hide code, so it is not loaded directly. "
            f"Import it first (Models > Import, or 'desktop-sd models import {path}') to convert it to .safetensors."
        )
    if path.suffix.lower() != ".safetensors":
        raise ModelError(f"{path.name} is not a model file Desktop SD can load: use a .safetensors checkpoint.")
    check_fits_memory(path)
    table = read_tensor_table(path)
    spec = spec_for_family(ref.family) or spec_for_family(Family.SD1)
    assert spec is not None
    if spec.flow_matching:  # the transformer from the file, the rest from an installed model
        return _plan_transformer_file(ref, dtype)
    if ref.config_dir is None or not (Path(ref.config_dir) / "model_index.json").is_file():
        family = ref.family if ref.family is not Family.UNKNOWN else "this kind of"
        raise ModelError(
            f"{path.name} needs the offline configuration for {family} models, which is not installed, so it "
            "cannot be loaded without the network. Reinstall Desktop SD, or use the model as a diffusers folder."
        )
    _, conv_in = table.get("model.diffusion_model.input_blocks.0.0.weight", ("", ()))
    inpainting = ref.inpainting or (len(conv_in) > 1 and conv_in[1] == 9)
    return ModelPlan(spec, inpainting, None, _table_bytes(table, dtype))


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"The model folder is incomplete: {path} is missing. Download the model again.") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"The {what} {path} could not be read ({exc}). Download the model again.") from None
    if not isinstance(data, dict):
        raise ModelError(f"The {what} {path} is not valid. Download the model again.")
    return data


def _plan_folder(ref: ModelRef, dtype: torch.dtype, skip: tuple[str, ...] = ()) -> ModelPlan:
    folder = ref.path
    index = _read_json(folder / "model_index.json", "model index")
    class_name = index.get("_class_name")
    if not isinstance(class_name, str):
        raise ModelError(
            f"{folder.name} uses a custom pipeline shipped with the model. Desktop SD never runs code from "
            "model files; use a standard Stable Diffusion model."
        )
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or len(value) != 2 or value[0] is None:
            continue
        if value[0] not in TRUSTED_LIBRARIES:
            raise ModelError(
                f"{folder.name} asks to run code shipped with the model ({name}: {value[0]}.{value[1]}). "
                "Desktop SD never runs code from model files; use a standard Stable Diffusion model."
            )
    spec = spec_for_class_name(class_name)
    if spec is None:
        raise ModelError(
            f"{folder.name} is a {class_name} model, which Desktop SD cannot run. It runs {FAMILY_NAMES} models."
        )
    spec.check_folder(folder, index)
    inpainting = spec.folder_inpainting(folder, _read_json)
    without = tuple(name for name in spec.optional_components if not (folder / name).is_dir())
    need = 0
    variant: str | None = None
    for component in spec.weight_components:
        if index.get(component, [None])[0] is None or component in without or component in skip:
            continue
        files, component_variant = _weight_files(folder / component)
        variant = variant or component_variant
        for file in files:
            if file.suffix == ".safetensors":
                need += _table_bytes(read_tensor_table(file), dtype)
            else:
                need += file.stat().st_size
    return ModelPlan(spec, inpainting, variant, need, without)


def _weight_files(component: Path) -> tuple[list[Path], str | None]:
    """The weight files diffusers will load for one component, and the variant they need."""
    if not component.is_dir():
        raise ModelError(f"The model folder is incomplete: {component} is missing. Download the model again.")
    for suffix in (".safetensors", ".bin"):
        files = sorted(component.glob(f"*{suffix}"))
        plain = [f for f in files if "." not in f.name[: -len(suffix)]]
        if plain:
            return plain, None
        fp16 = [f for f in files if ".fp16" in f.name]
        if fp16:
            return fp16, "fp16"
    raise ModelError(f"The model folder is incomplete: {component} has no weight files. Download the model again.")


TensorTable = dict[str, tuple[str, tuple[int, ...]]]  # name -> (safetensors dtype, shape)


def read_tensor_table(path: Path) -> TensorTable:
    """Names, dtypes and shapes from a safetensors header; corrupt or truncated files fail here in milliseconds.

    safetensors checks on opening that the header is sane and that the tensors
    cover the file exactly (a truncated download fails this).
    """
    try:
        with safe_open(str(path), "pt") as fh:
            table: TensorTable = {}
            for name in fh.keys():  # noqa: SIM118 - safe_open is not a mapping
                tensor = fh.get_slice(name)
                table[name] = (tensor.get_dtype(), tuple(tensor.get_shape()))
            return table
    except SafetensorError as exc:
        why = str(exc).removeprefix("Error while deserializing header: ")
        raise ModelError(
            f"{path.name} is a corrupt or incomplete model file ({why}). "
            "Download or copy it again; if it came from a download, remove it and retry."
        ) from None
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except RuntimeError as exc:  # "unable to mmap ... Cannot allocate memory"
        raise ModelError(
            f"{path.name} could not be mapped into memory ({exc}). Close other programs and try again; if the file "
            "is much larger than a model should be (2 to 7 GB), it is damaged: download or copy it again."
        ) from None


def _table_bytes(table: TensorTable, dtype: torch.dtype) -> int:
    """Bytes the tensors take once floating-point ones are cast to ``dtype``."""
    target = torch.empty((), dtype=dtype).element_size()
    total = 0
    for kind, shape in table.values():
        count = 1
        for dim in shape:
            count *= int(dim)
        total += count * (target if kind in _FLOAT_DTYPES else _DTYPE_BYTES.get(kind, 1))
    return total


def check_ram(ref: ModelRef, plan: ModelPlan) -> None:
    """Refuse, before the operating system would kill us, a model larger than free RAM."""
    have = available_ram()
    if plan.need_bytes > have:
        raise ModelError(
            f"{ref.path.name} needs about {_size(plan.need_bytes)} of memory to load, but only {_size(have)} is free. "
            "Close other programs, or choose a smaller model."
        )


def load_pipeline(
    ref: ModelRef,
    plan: ModelPlan,
    dtype: torch.dtype,
    cancelled: threading.Event | None = None,
    vae_dtype: torch.dtype | None = None,
) -> DiffusionPipeline:
    """Load the model's base pipeline on the CPU (placement on the device comes later).

    A set ``cancelled`` stops the load before the next component (``Cancelled``). A ``vae_dtype`` other
    than ``dtype`` loads the VAE in it straight from the file (not rounded through ``dtype`` first)."""
    cls = plan.spec.load_class(plan.inpainting)
    extra: dict[str, Any] = {**plan.spec.load_options, **dict.fromkeys(plan.without)}
    try:
        with warnings.catch_warnings():
            # Later diffusers rename torch_dtype to dtype; torch_dtype works in every version we support.
            warnings.simplefilter("ignore", FutureWarning)
            with between_components(lambda k, n, name: _component(k, n, name, cancelled)):
                if vae_dtype is not None and vae_dtype != dtype:
                    extra = {**extra, "vae": _vae_from_files(ref, plan, vae_dtype)}
                pipe = _from_files(cls, ref, plan, dtype, extra, lambda k, n, name: _component(k, n, name, cancelled))
    except (ModelError, Cancelled):
        raise
    except Exception as exc:
        if is_out_of_memory(exc):
            raise OutOfMemoryError(
                f"There is not enough memory to load {ref.path.name}. Close other programs, or choose a smaller model."
            ) from None
        raise ModelError(_load_failure(ref, exc)) from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _component(index: int, count: int, name: str, cancelled: threading.Event | None) -> None:
    if cancelled is not None and cancelled.is_set():
        raise Cancelled("Cancelled while the model loaded.")
    report_phase(f"Loading the model: {name.replace('_', ' ')} ({index + 1} of {count})…")


def _from_files(
    cls: type[DiffusionPipeline],
    ref: ModelRef,
    plan: ModelPlan,
    dtype: torch.dtype,
    extra: dict[str, Any],
    progress: assembled.Progress,
) -> DiffusionPipeline:
    if _transformer_file(ref, plan) and assembled.is_config_only(ref.config_dir):
        parts = dict(plan.parts)
        return assembled.load_assembled(cls, ref, parts, plan.spec.transformer_class, dtype, extra, progress)
    if _transformer_file(ref, plan):
        return _from_transformer_file(cls, ref, plan, dtype, extra)
    if ref.format is ModelFormat.SINGLE_FILE:
        return cls.from_single_file(
            str(ref.path), config=str(ref.config_dir), local_files_only=True, torch_dtype=dtype, **extra
        )
    if plan.variant:
        extra = {**extra, "variant": plan.variant}
    return cls.from_pretrained(str(ref.path), local_files_only=True, torch_dtype=dtype, **extra)


def _from_transformer_file(
    cls: type[DiffusionPipeline], ref: ModelRef, plan: ModelPlan, dtype: torch.dtype, extra: dict[str, Any]
) -> DiffusionPipeline:
    """The transformer from its file (a GGUF one kept quantized, computed at ``dtype``), the rest from the
    installed model in ``ref.config_dir`` (the base folder's variant applies to that rest only)."""
    assert plan.spec.transformer_class is not None and ref.config_dir is not None
    base = str(ref.config_dir)
    quantized = (
        {"quantization_config": GGUFQuantizationConfig(compute_dtype=dtype)} if ref.format is ModelFormat.GGUF else {}
    )
    transformer = plan.spec.transformer_class.from_single_file(
        str(ref.path), config=base, subfolder="transformer", torch_dtype=dtype, local_files_only=True, **quantized
    )
    if plan.variant:
        extra = {**extra, "variant": plan.variant}
    return cls.from_pretrained(base, transformer=transformer, local_files_only=True, torch_dtype=dtype, **extra)


def _transformer_file(ref: ModelRef, plan: ModelPlan) -> bool:
    """An SD 3 / Flux transformer in a file of its own (GGUF or ``.safetensors``), not a diffusers folder."""
    return ref.format is ModelFormat.GGUF or (ref.format is ModelFormat.SINGLE_FILE and plan.spec.flow_matching)


def _vae_from_files(ref: ModelRef, plan: ModelPlan, dtype: torch.dtype) -> AutoencoderKL:
    if _transformer_file(ref, plan) and assembled.is_config_only(ref.config_dir):
        return assembled.load_vae_part(ref, dict(plan.parts), dtype)
    if _transformer_file(ref, plan):
        assert ref.config_dir is not None  # the installed model the rest of an SD 3 / Flux file comes from
        base = str(ref.config_dir)
        return AutoencoderKL.from_pretrained(base, subfolder="vae", local_files_only=True, torch_dtype=dtype)
    if ref.format is ModelFormat.SINGLE_FILE:
        return AutoencoderKL.from_single_file(
            str(ref.path), config=str(ref.config_dir), subfolder="vae", local_files_only=True, torch_dtype=dtype
        )
    variant = {"variant": plan.variant} if plan.variant else {}
    return AutoencoderKL.from_pretrained(
        str(ref.path), subfolder="vae", local_files_only=True, torch_dtype=dtype, **variant
    )


def _load_failure(ref: ModelRef, exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__  # library messages go on with advice for programmers
    if len(text) > 240:
        text = text[:240] + "..."
    lowered = text.lower()
    if any(word in lowered for word in CORRUPTION_WORDS):
        return (
            f"{ref.path.name} is a corrupt or incomplete model file ({text}). "
            "Download or copy it again; if it came from a download, remove it and retry."
        )
    return f"{ref.path.name} could not be loaded ({text}). Check that it is a {FAMILY_NAMES} model."
