"""Prompts with A1111's syntax turned into the embeddings diffusers' pipelines take.

Each prompt is parsed (``core.prompt_syntax``), cut into 75-token chunks
(``core.prompt_chunks``), and each chunk is encoded as the pipelines encode a
whole prompt: start token, up to 75 tokens, end token, padding to 77. Each
token's output is multiplied by its weight, and the chunk is rescaled so its
mean is what it was before the weights (A1111's "original" emphasis); the
chunks are joined along the token axis. The positive and negative prompts are
padded with encoded empty chunks to the same length, as A1111 pads them.

SDXL: both encoders' hidden states side by side, as the SDXL pipelines do;
the pooled output is the second encoder's on the first chunk (A1111).

Clip skip: A1111 counts the last layer as 1 ("Clip skip: 2" uses the
penultimate layer); diffusers' ``clip_skip`` counts the layers skipped, so
A1111's N is diffusers' N - 1 (:func:`diffusers_clip_skip`). Unlike diffusers,
which skips layers for the positive prompt only, clip skip here applies to
both prompts, as in A1111.

With the syntax off, diffusers reads the prompt strings itself, except with
clip skip: then the prompts are encoded here as one plain fragment cut to 75
tokens (what diffusers would do), so clip skip means the same with the syntax
on or off, and because diffusers' own SD 1.x clip skip reaches the final norm
through ``text_encoder.text_model``, which transformers 5's ``CLIPTextModel``
no longer has.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import DiffusionPipeline

from desktop_sd.core.prompt_chunks import CHUNK_TOKENS, Chunk, chunk_prompt
from desktop_sd.core.prompt_syntax import Fragment, Piece, parse, strip_network_tags

_PROMPT_KEYS = ("prompt", "negative_prompt", "clip_skip")


def diffusers_clip_skip(a1111_clip_skip: int) -> int | None:
    """A1111's "Clip skip" (1 = the last layer) as diffusers' ``clip_skip`` (layers skipped; None for none)."""
    return a1111_clip_skip - 1 if a1111_clip_skip > 1 else None


def encode_arguments(pipe: DiffusionPipeline, arguments: dict[str, Any], weighted: bool) -> dict[str, Any]:
    """``arguments`` with ``prompt``/``negative_prompt``/``clip_skip`` replaced by prompt embeddings.

    With ``weighted`` false the prompts are read as plain text, and returned unchanged for
    diffusers to read unless clip skip needs encoding here (see the module's docstring).
    """
    skip = int(arguments.get("clip_skip") or 0)
    xl = hasattr(pipe, "text_encoder_2")
    if not weighted and not skip:
        return arguments
    encoded = {k: v for k, v in arguments.items() if k not in _PROMPT_KEYS}
    encoders = _encoders(pipe)
    texts = (str(arguments["prompt"]), str(arguments.get("negative_prompt") or ""))
    with torch.no_grad():
        positive, negative = ([_chunks(pipe, tokenizer, text, weighted) for tokenizer, _ in encoders] for text in texts)
        count = max(len(c) for c in (*positive, *negative))
        device = pipe._execution_device  # where offload hooks run the encoders
        embeds, pooled = _encode(encoders, positive, count, skip, xl, device)
        negative_embeds, negative_pooled = _encode(encoders, negative, count, skip, xl, device)
    encoded["prompt_embeds"] = embeds
    encoded["negative_prompt_embeds"] = negative_embeds
    if xl:
        encoded["pooled_prompt_embeds"] = pooled
        encoded["negative_pooled_prompt_embeds"] = negative_pooled
    return encoded


def _encoders(pipe: DiffusionPipeline) -> list[tuple[Any, Any]]:
    pairs = [
        (getattr(pipe, "tokenizer", None), getattr(pipe, "text_encoder", None)),
        (getattr(pipe, "tokenizer_2", None), getattr(pipe, "text_encoder_2", None)),
    ]
    return [(t, e) for t, e in pairs if t is not None and e is not None]


def _chunks(pipe: DiffusionPipeline, tokenizer: Any, text: str, weighted: bool) -> list[Chunk]:
    convert = getattr(pipe, "maybe_convert_prompt", None)

    def tokenize(fragment: str) -> list[int]:
        if convert is not None:  # a multi-vector textual-inversion token becomes its n tokens
            fragment = convert(fragment.lower(), tokenizer)  # lower case, as the tokens were added
        ids: list[int] = tokenizer(fragment, add_special_tokens=False, truncation=False, verbose=False).input_ids
        return ids

    comma = tokenizer.convert_tokens_to_ids(",</w>")
    comma_id = comma if isinstance(comma, int) and comma != tokenizer.unk_token_id else None
    if not weighted:
        plain: list[Piece] = [Fragment(text)]
        return chunk_prompt(plain, tokenize, None)[:1]
    return chunk_prompt(parse(strip_network_tags(text)), tokenize, comma_id)


def _encode(
    encoders: list[tuple[Any, Any]],
    chunks_per_encoder: list[list[Chunk]],
    count: int,
    skip: int,
    xl: bool,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The joined embeddings of ``count`` chunks (missing ones empty) and, for SDXL, the pooled output."""
    per_encoder: list[torch.Tensor] = []
    pooled: torch.Tensor | None = None
    for (tokenizer, encoder), chunks in zip(encoders, chunks_per_encoder, strict=True):
        padded = chunks + [Chunk((), ())] * (count - len(chunks))
        outputs = []
        for index, chunk in enumerate(padded):
            hidden, chunk_pooled = _encode_chunk(tokenizer, encoder, chunk, skip, xl, device)
            outputs.append(hidden)
            if index == 0 and chunk_pooled is not None:
                pooled = chunk_pooled
        per_encoder.append(torch.cat(outputs, dim=1))
    return torch.cat(per_encoder, dim=-1), pooled


def _encode_chunk(
    tokenizer: Any, encoder: Any, chunk: Chunk, skip: int, xl: bool, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None]:
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    filler = CHUNK_TOKENS - len(chunk.tokens)
    ids = [tokenizer.bos_token_id, *chunk.tokens, tokenizer.eos_token_id] + [pad] * filler
    weights = [1.0, *chunk.weights, 1.0] + [1.0] * filler
    input_ids = torch.tensor([ids], device=device)
    mask = None
    if getattr(encoder.config, "use_attention_mask", False):
        mask = torch.tensor([[1] * (len(chunk.tokens) + 2) + [0] * filler], device=device)
    output = encoder(input_ids, attention_mask=mask, output_hidden_states=True)
    pooled = output[0] if output[0].ndim == 2 else None
    skip = min(skip, len(output.hidden_states) - 2)  # never past the embedding layer of a shallower encoder
    if xl:  # the SDXL pipelines read the penultimate layer, without the final norm
        hidden = output.hidden_states[-(skip + 2)]
    elif skip:
        norm = getattr(encoder, "text_model", encoder).final_layer_norm  # transformers 5 dropped text_model
        hidden = norm(output.hidden_states[-(skip + 1)])
    else:
        hidden = output[0]
    if any(w != 1.0 for w in weights):
        hidden = _weighted(hidden, torch.tensor(weights, device=hidden.device, dtype=hidden.dtype))
    return hidden, pooled


def _weighted(hidden: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Each token's output times its weight, rescaled to the mean it had (A1111's "original" emphasis)."""
    original_mean = hidden.mean()
    scaled = hidden * weights.reshape(1, -1, 1)
    new_mean = scaled.mean()
    # A mean of about zero (a final layer norm with no bias gives one) has no scale worth restoring:
    # the quotient of two near-zero numbers would blow the embeddings up.
    if new_mean.abs() <= 1e-4 * scaled.abs().mean():
        return scaled
    return scaled * (original_mean / new_mean)
