"""Reusing parameters with LoRAs and a VAE: keep what is installed, name what is missing."""

from __future__ import annotations

from collections.abc import Callable

from desktop_sd.core.loras import extract_lora_tags
from desktop_sd.core.request import GenerationRequest
from desktop_sd.models.addons import AddonKind, find_addons

Installed = Callable[[AddonKind], set[str]]


def installed_names(kind: AddonKind) -> set[str]:
    """Names (file stems, lower case) of the installed add-ons of ``kind``."""
    return {addon.name.lower() for addon in find_addons(kind)}


def check_addons(
    request: GenerationRequest, installed: Installed = installed_names
) -> tuple[GenerationRequest, list[str]]:
    """``request`` with picked LoRAs and a VAE that are not installed left out, and a notice naming them.

    ``<lora:...>`` tags stay in the prompt as written (installing the LoRA later makes them work);
    the notice names the missing ones too.
    """
    loras = installed(AddonKind.LORA)
    _, tagged = extract_lora_tags(request.prompt)
    _, tagged_negative = extract_lora_tags(request.negative_prompt)
    missing = [name for name, _ in (*request.loras, *tagged, *tagged_negative) if name.lower() not in loras]
    kept = tuple((name, weight) for name, weight in request.loras if name.lower() in loras)
    notices: list[str] = []
    if missing:
        names = ", ".join(dict.fromkeys(missing))
        notices.append(f"LoRA not installed: {names}. Install it (Models > Manage models) to use it.")
    vae = request.vae
    if vae and vae.lower() not in installed(AddonKind.VAE):
        notices.append(f"VAE not installed: {vae}. The model's own VAE is used instead.")
        vae = ""
    return request.replace(loras=kept, vae=vae), notices
