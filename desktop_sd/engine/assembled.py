"""An SD 3 / Flux.1 pipeline built part by part from a transformer file and the files that hold the rest.

The models side (``models.part_files``) names the files: the transformer file itself (which may hold
the VAE and text encoders too: all-in-one checkpoints) and ComfyUI-style split files (``clip_l``,
``clip_g``, ``t5xxl``, ``ae``). Here each part is read from whichever file holds it (only its own
tensors: an all-in-one file is not read whole for each part) and built with the shipped config of its
family (``ref.config_dir``, no weights), its sizes taken from its shapes (``flow_configs``); the
tokenizers and scheduler come from that folder. A GGUF transformer stays quantized.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from accelerate import init_empty_weights  # type: ignore[import-untyped]
from diffusers import AutoencoderKL, DiffusionPipeline, FlowMatchEulerDiscreteScheduler, GGUFQuantizationConfig
from safetensors import safe_open
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, T5Config, T5EncoderModel

from desktop_sd.core import flow_parts
from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, ModelFormat, ModelRef
from desktop_sd.engine import flow_configs

Shapes = dict[str, tuple[int, ...]]
Progress = Callable[[int, int, str], None]  # (index, count, part name)

# Flux schnell (no distilled guidance) runs with a fixed shift of 1, as its published scheduler config says.
SCHNELL_SCHEDULER = {"shift": 1.0, "use_dynamic_shifting": False}


def is_config_only(folder: Path | None) -> bool:
    """A shipped config folder (no weights), as opposed to an installed model that supplies the parts."""
    if folder is None or not (folder / "model_index.json").is_file():
        return False
    return not any(folder.glob("*/*.safetensors")) and not any(folder.glob("*/*.bin"))


def file_shapes(path: Path) -> Shapes:
    """Tensor names and shapes of a ``.safetensors`` or GGUF file (header only)."""
    if path.suffix.lower() == ".gguf":
        from gguf import GGUFReader

        reader = GGUFReader(str(path))
        return {t.name: tuple(int(d) for d in reversed(t.shape)) for t in reader.tensors}
    with safe_open(str(path), "pt") as fh:
        return {name: tuple(fh.get_slice(name).get_shape()) for name in fh.keys()}  # noqa: SIM118


def locate_parts(ref: ModelRef) -> dict[str, tuple[Path, str]]:
    """Part -> (file, prefix of its tensors there), the transformer file first."""
    found: dict[str, tuple[Path, str]] = {}
    if ref.format is ModelFormat.GGUF:
        found[flow_parts.TRANSFORMER] = (ref.path, "")
    for path in (ref.path, *ref.parts):
        if path.suffix.lower() == ".gguf":
            part = flow_parts.gguf_part(flow_parts.gguf_architecture(path)) if path != ref.path else None
            if part is not None:
                found.setdefault(part, (path, ""))
            continue
        for part, prefix in flow_parts.parts_in(file_shapes(path), path.name).items():
            found.setdefault(part, (path, prefix))
    return found


def check_parts(ref: ModelRef, found: dict[str, tuple[Path, str]]) -> None:
    """Raise ``ModelError`` naming each part the family needs that no file holds."""
    missing = [p for p in (flow_parts.TRANSFORMER, *flow_parts.REQUIRED[ref.family]) if p not in found]
    if missing:
        raise ModelError(
            f"{ref.path.name} cannot run: the {'; '.join(flow_parts.PART_NAMES.get(p, p) for p in missing)} "
            "was not found. Put the file next to the model, or in a linked ComfyUI or Forge folder."
        )


def _tensors(path: Path, prefix: str) -> dict[str, torch.Tensor]:
    with safe_open(str(path), "pt") as fh:
        return {k[len(prefix) :]: fh.get_tensor(k) for k in fh.keys() if k.startswith(prefix)}  # noqa: SIM118


def _shapes(tensors: dict[str, torch.Tensor]) -> Shapes:
    return {k: tuple(v.shape) for k, v in tensors.items()}


def _load_into(model: torch.nn.Module, tensors: dict[str, torch.Tensor], what: str, dtype: torch.dtype) -> None:
    """Weights into a model built on the meta device; floating-point ones cast to ``dtype`` (fp8 files too).
    A buffer the file lacks (CLIP's position ids) keeps the value the model was built with."""
    own = model.state_dict()
    state: dict[str, torch.Tensor] = {}
    for key, value in own.items():
        tensor = tensors.pop(key, None)  # each file tensor let go once cast: T5-XXL is 5-10 GB
        if tensor is None:
            if value.device.type == "meta":
                raise ModelError(f"The {what} is incomplete: the weight {key} is missing. Copy the file again.")
            tensor = value
        if tuple(tensor.shape) != tuple(value.shape):
            raise ModelError(f"The {what} does not fit its model: {key} is {tuple(tensor.shape)}.")
        state[key] = tensor.to(dtype) if tensor.is_floating_point() else tensor
    model.load_state_dict(state, strict=True, assign=True)
    model.eval()


def _clip(
    cls: type[CLIPTextModel] | type[CLIPTextModelWithProjection],
    config_dir: Path,
    subfolder: str,
    tensors: dict[str, torch.Tensor],
    dtype: torch.dtype,
) -> CLIPTextModel | CLIPTextModelWithProjection:
    config = CLIPTextConfig.from_pretrained(config_dir / subfolder, **flow_configs.clip_text(_shapes(tensors)))
    with init_empty_weights():
        model = cls(config)
    keys = model.state_dict().keys()
    wrapped = any(k.startswith("text_model.") for k in keys)
    named = {}
    for key, value in tensors.items():
        short = key.removeprefix("text_model.")
        named[short if not wrapped or short == "text_projection.weight" else "text_model." + short] = value
    if "text_projection.weight" in keys and "text_projection.weight" not in named:
        # SD 3's CLIP-L ships without a projection: an identity one, as diffusers and ComfyUI use
        named["text_projection.weight"] = torch.eye(config.hidden_size)
    _load_into(model, named, f"{subfolder.replace('_', ' ')} (CLIP)", dtype)
    return model


def _t5(config_dir: Path, subfolder: str, tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> T5EncoderModel:
    config = T5Config.from_pretrained(config_dir / subfolder, **flow_configs.t5_encoder(_shapes(tensors)))
    with init_empty_weights():
        model = T5EncoderModel(config)
    embedding = tensors.get("shared.weight", tensors.get("encoder.embed_tokens.weight"))
    if embedding is not None:  # files keep one or both of the two names of T5's tied token embedding
        tensors.setdefault("shared.weight", embedding)
        tensors.setdefault("encoder.embed_tokens.weight", embedding)
    _load_into(model, tensors, "T5-XXL text encoder", dtype)
    return model


T5_SIZES = ("d_model", "d_ff", "d_kv", "num_heads", "num_layers", "relative_attention_num_buckets")


def _t5_gguf(config_dir: Path, subfolder: str, path: Path, dtype: torch.dtype) -> T5EncoderModel:
    """A GGUF T5 encoder (dequantized to ``dtype`` by transformers' GGUF support). Its metadata gives the
    sizes; the activation and gating, which transformers reads from it wrongly for T5 v1.1 (plain ReLU),
    come from the shipped config."""
    parsed = T5Config.from_pretrained(str(path.parent), gguf_file=path.name)
    vocab = file_shapes(path).get("token_embd.weight", (parsed.vocab_size,))[0]
    sizes = {name: getattr(parsed, name) for name in T5_SIZES}
    config = T5Config.from_pretrained(
        config_dir / subfolder, **sizes, num_decoder_layers=sizes["num_layers"], vocab_size=vocab
    )
    model = T5EncoderModel.from_pretrained(str(path.parent), gguf_file=path.name, config=config, torch_dtype=dtype)
    return model.eval()


def _transformer(
    spec_class: Any, family: Family, ref: ModelRef, where: tuple[Path, str], dtype: torch.dtype
) -> torch.nn.Module:
    path, prefix = where
    config = str(ref.config_dir)
    if ref.format is ModelFormat.GGUF:
        shapes = file_shapes(path)
        sizes = flow_configs.flux_transformer(shapes) if family is Family.FLUX else flow_configs.sd3_transformer(shapes)
        return spec_class.from_single_file(  # type: ignore[no-any-return]
            str(path),
            config=config,
            subfolder="transformer",
            torch_dtype=dtype,
            local_files_only=True,
            quantization_config=GGUFQuantizationConfig(compute_dtype=dtype),
            **sizes,
        )
    tensors = _tensors(path, prefix)
    shapes = _shapes(tensors)
    sizes = flow_configs.flux_transformer(shapes) if family is Family.FLUX else flow_configs.sd3_transformer(shapes)
    return spec_class.from_single_file(  # type: ignore[no-any-return]
        tensors, config=config, subfolder="transformer", torch_dtype=dtype, local_files_only=True, **sizes
    )


def load_vae_part(ref: ModelRef, found: dict[str, tuple[Path, str]], dtype: torch.dtype) -> AutoencoderKL:
    path, prefix = found[flow_parts.VAE]
    tensors = _tensors(path, prefix)
    return AutoencoderKL.from_single_file(
        tensors,
        config=str(ref.config_dir),
        subfolder="vae",
        torch_dtype=dtype,
        local_files_only=True,
        **flow_configs.vae(_shapes(tensors)),
    )


def load_assembled(
    cls: type[DiffusionPipeline],
    ref: ModelRef,
    found: dict[str, tuple[Path, str]],
    transformer_class: Any,
    dtype: torch.dtype,
    extra: dict[str, Any],
    progress: Progress,
) -> DiffusionPipeline:
    """The pipeline ``cls`` of ``ref``'s family, each part built from the file that holds it (``found``:
    ``locate_parts``, checked when the load was planned)."""
    assert ref.config_dir is not None
    family, config_dir = ref.family, Path(ref.config_dir)
    sd3 = family is Family.SD3
    names = ["transformer", "vae", "text_encoder", "text_encoder_2"]
    if sd3 and flow_parts.T5 in found and "text_encoder_3" not in extra:
        names.append("text_encoder_3")
    parts: dict[str, Any] = {}
    for index, name in enumerate(names):
        progress(index, len(names), name)
        if name == "transformer":
            parts[name] = _transformer(transformer_class, family, ref, found[flow_parts.TRANSFORMER], dtype)
        elif name == "vae":
            parts[name] = extra.pop("vae", None) or load_vae_part(ref, found, dtype)
        elif name == "text_encoder":
            cls_l = CLIPTextModelWithProjection if sd3 else CLIPTextModel
            parts[name] = _clip(cls_l, config_dir, name, _tensors(*found[flow_parts.CLIP_L]), dtype)
        elif name == "text_encoder_2" and sd3:
            clip_g = _tensors(*found[flow_parts.CLIP_G])
            parts[name] = _clip(CLIPTextModelWithProjection, config_dir, name, clip_g, dtype)
        elif found[flow_parts.T5][0].suffix.lower() == ".gguf":  # Flux's text_encoder_2, SD 3's text_encoder_3
            parts[name] = _t5_gguf(config_dir, name, found[flow_parts.T5][0], dtype)
        else:
            parts[name] = _t5(config_dir, name, _tensors(*found[flow_parts.T5]), dtype)
    if sd3 and "text_encoder_3" not in parts:
        extra = {**extra, "text_encoder_3": None, "tokenizer_3": None}
    if family is Family.FLUX and not parts["transformer"].config.guidance_embeds:
        parts["scheduler"] = FlowMatchEulerDiscreteScheduler.from_pretrained(
            config_dir, subfolder="scheduler", **SCHNELL_SCHEDULER
        )
    return cls.from_pretrained(config_dir, **extra, **parts, local_files_only=True, torch_dtype=dtype)
