"""Textual-inversion embeddings named in the prompts, loaded into the model's tokenizers and text encoders.

As in A1111, an embedding is used by writing its file name (without the
extension) in the prompt or the negative prompt. The files A1111 users share:

- SD 1.x/2.x ``.pt``: ``{"string_to_param": {"*": tensor[n, width]}, "name": ...}``;
- SD 1.x/2.x ``.safetensors``: ``{"emb_params": tensor[n, width]}``;
- SDXL ``.safetensors``: ``{"clip_l": tensor[n, 768], "clip_g": tensor[n, 1280]}``, one per text encoder.

Each is added through diffusers' ``load_textual_inversion`` as a token named
after the file (an embedding of n vectors becomes n tokens, which diffusers'
``maybe_convert_prompt`` expands). Only the embeddings the current prompts name
are loaded; one no longer named is unloaded before the next job, which gives the
text encoders back their own vocabulary.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from desktop_sd.core import paths
from desktop_sd.core.errors import ModelError
from desktop_sd.core.file_hash import model_hash
from desktop_sd.core.prompt_syntax import embedding_names, parse, plain_text, strip_network_tags
from desktop_sd.core.request import GenerationRequest
from desktop_sd.engine.pipelines import LoadedModel

EmbeddingLister = Callable[[], Mapping[str, Path]]  # every installed embedding by its name in lower case

_WORD = re.compile(r"[^\s,()\[\]:<>|{}]+")
_WIDTHS = {768: "SD 1.x", 1024: "SD 2.x"}


def _family(vectors: dict[str, torch.Tensor]) -> str:
    if "clip_g" in vectors:
        return "SDXL"
    width = int(next(iter(vectors.values())).shape[-1])
    return _WIDTHS.get(width, f"a model with {width}-wide text vectors")


def read_embedding(path: Path) -> dict[str, torch.Tensor]:
    """The vectors in an embedding file: ``{"clip_l", "clip_g"}`` for SDXL, ``{"vectors"}`` otherwise.

    Raises ``ModelError`` naming the file when it cannot be read or holds no embedding.
    """
    try:
        if path.suffix.lower() == ".safetensors":
            data: Any = load_file(str(path), device="cpu")
        else:  # a pickle: the restricted unpickler refuses anything but tensors and containers
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelError(
            f"The embedding {path.name} was refused: it asks to run code, not just load vectors. "
            "Nothing from it was run. Get a .safetensors version of it."
        ) from None
    except (OSError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"The embedding {path.name} could not be read ({reason}).") from None
    if isinstance(data, dict) and isinstance(data.get("clip_l"), torch.Tensor) and "clip_g" in data:
        return {"clip_l": _matrix(data["clip_l"]), "clip_g": _matrix(data["clip_g"])}
    tensor: Any = None
    if isinstance(data, dict):
        params = data.get("string_to_param")
        if isinstance(params, dict) and params:
            tensor = params.get("*", next(iter(params.values())))
        elif "emb_params" in data:
            tensor = data["emb_params"]
        else:
            tensors = [v for v in data.values() if isinstance(v, torch.Tensor)]
            tensor = tensors[0] if len(tensors) == 1 else None  # diffusers' own {token: vector}
    elif isinstance(data, torch.Tensor):
        tensor = data
    if not isinstance(tensor, torch.Tensor):
        raise ModelError(f"{path.name} is not a textual-inversion embedding (no vectors found in it).")
    return {"vectors": _matrix(tensor)}


def _matrix(tensor: torch.Tensor) -> torch.Tensor:
    tensor = tensor.detach().to(torch.float32)
    return tensor.reshape(1, -1) if tensor.ndim == 1 else tensor.reshape(-1, tensor.shape[-1])


def named_words(request: GenerationRequest) -> list[str]:
    """The words of both prompts (syntax removed), in order, each once: the candidates for embedding names."""
    words: list[str] = []
    for text in (request.prompt, request.negative_prompt):
        for word in _WORD.findall(plain_text(parse(strip_network_tags(text)))):
            if word.lower() not in (w.lower() for w in words):
                words.append(word)
    return words


class Embeddings:
    """The embeddings loaded into one model, kept in step with the prompts of each job."""

    def __init__(self, installed: EmbeddingLister | None) -> None:
        self._installed = installed
        self._model: LoadedModel | None = None
        self._loaded: dict[str, list[tuple[Any, Any, list[str]]]] = {}  # name -> (tokenizer, encoder, tokens)
        self._paths: dict[str, Path] = {}

    def apply(self, model: LoadedModel, pipe: Any, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        """Load the embeddings the prompts name, unload the others; the request gets ``ti_hashes``.

        Returns the request as run and notices: an embedding for another family is not
        loaded (its name stays text), and one named in the request's ``ti_hashes`` (from a
        reused image) that is not installed is named.
        """
        if model is not self._model:  # a new model starts with its own vocabulary
            self._model, self._loaded, self._paths = model, {}, {}
        notices: list[str] = []
        named = [w.lower() for w in named_words(request)]  # in prompt order: the order of "TI hashes"
        installed = self._installed() if self._installed is not None else {}  # one look at the folders a job
        wanted = {name: installed[name] for name in named if name in installed}
        for name in [n for n in self._loaded if wanted.get(n) != self._paths.get(n)]:
            self._unload(model, pipe, name)
        for name, path in wanted.items():
            if name not in self._loaded:
                problem = self._load(model, pipe, name, path)
                if problem:
                    notices.append(problem)
        used = [name for name in wanted if name in self._loaded]
        missing = [n for n in embedding_names(request.ti_hashes) if n.lower() in named and n.lower() not in wanted]
        if missing:
            where = paths.models_dir() / "embeddings"
            notices.append(
                f"Embedding{'s' if len(missing) > 1 else ''} not installed: {', '.join(missing)}. "
                f"The name is read as plain text; put the file in {where} to use it."
            )
        hashes = ", ".join(f"{name}: {self._hash(self._paths[name])}" for name in used)
        return request.replace(ti_hashes=hashes), notices

    def _load(self, model: LoadedModel, pipe: Any, name: str, path: Path) -> str:
        vectors = read_embedding(path)
        encoders = [(pipe.tokenizer, pipe.text_encoder)]
        if model.xl:
            encoders.append((pipe.tokenizer_2, pipe.text_encoder_2))
        parts = [vectors["clip_l"], vectors["clip_g"]] if model.xl and "clip_g" in vectors else []
        if not parts and not model.xl and "vectors" in vectors:
            parts = [vectors["vectors"]]
        widths = [int(encoder.get_input_embeddings().weight.shape[-1]) for _, encoder in encoders]
        if len(parts) != len(encoders) or [int(p.shape[-1]) for p in parts] != widths:
            model_family = "SDXL" if model.xl else _WIDTHS.get(widths[0], f"a model with {widths[0]}-wide text vectors")
            return (
                f"The embedding {path.name} is for {_family(vectors)}, but the model is {model_family}: "
                f"it was not used, and “{name}” is read as plain text."
            )
        model.detach()  # offload hooks must not be on the encoders while their vocabulary grows
        loaded: list[tuple[Any, Any, list[str]]] = []
        for (tokenizer, encoder), part in zip(encoders, parts, strict=True):
            tokens = [name] + [f"{name}_{i}" for i in range(1, part.shape[0])]
            try:
                pipe.load_textual_inversion(part, token=name, tokenizer=tokenizer, text_encoder=encoder)
            except ValueError:  # diffusers refuses a name the tokenizer already has as a token
                for done_tokenizer, done_encoder, done in loaded:
                    pipe.unload_textual_inversion(tokens=done, tokenizer=done_tokenizer, text_encoder=done_encoder)
                return (
                    f"The embedding {path.name} was not used: “{name}” is already a word of the model's "
                    "vocabulary. Rename the file to a name that is not a plain word."
                )
            loaded.append((tokenizer, encoder, tokens))
        self._loaded[name] = loaded
        self._paths[name] = path
        return ""

    def _unload(self, model: LoadedModel, pipe: Any, name: str) -> None:
        model.detach()
        for tokenizer, encoder, tokens in self._loaded.pop(name):
            pipe.unload_textual_inversion(tokens=tokens, tokenizer=tokenizer, text_encoder=encoder)
        self._paths.pop(name, None)

    @staticmethod
    def _hash(path: Path) -> str:
        try:
            return model_hash(path, paths.cache_dir() / "model-hashes.json")
        except OSError:
            return ""
