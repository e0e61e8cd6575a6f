"""A job's LoRAs and VAE in A1111's ``parameters`` text, written the way A1111 writes them.

A1111 knows LoRAs only as ``<lora:NAME:WEIGHT>`` tags in the prompt, so LoRAs
chosen in the picker are written as tags after the prompt; ``Lora hashes``
holds ``"name: hash, ..."`` and ``VAE`` the VAE's file name, after ``VAE hash``.
"""

from __future__ import annotations

from pathlib import PurePath

from desktop_sd.core.loras import extract_lora_tags, lora_tag
from desktop_sd.core.request import GenerationRequest


def prompt_with_tags(request: GenerationRequest) -> str:
    """The prompt as A1111 would run it: picked LoRAs not already tagged in it added as tags at its end."""
    _, tagged = extract_lora_tags(request.prompt)
    _, tagged_negative = extract_lora_tags(request.negative_prompt)
    named = {name for name, _ in tagged + tagged_negative}
    extra = [lora_tag(name, weight) for name, weight in request.loras if name not in named and weight != 0]
    return " ".join([request.prompt, *extra]) if extra and request.prompt else " ".join(extra) or request.prompt


def vae_pairs(request: GenerationRequest, vae_hash: str) -> list[tuple[str, str]]:
    """``VAE hash`` and ``VAE`` (the file's name, as A1111 writes it) when a separate VAE ran."""
    if not request.vae:
        return []
    name = PurePath(request.vae.replace("\\", "/")).name
    if "." not in name and vae_hash:
        name += ".safetensors"  # an installed VAE named by its stem: A1111 shows the file name
    pairs = [("VAE hash", vae_hash)] if vae_hash else []
    return [*pairs, ("VAE", name)]


def lora_hashes_pair(lora_hashes: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """``Lora hashes: "name: hash, ..."`` (the quoting is the caller's, as for every value)."""
    known = [(name, h) for name, h in lora_hashes if h]
    if not known:
        return []
    return [("Lora hashes", ", ".join(f"{name.replace(':', '').replace(',', '')}: {h}" for name, h in known))]
