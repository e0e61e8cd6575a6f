"""LoRA facts that need no torch: A1111's ``<lora:NAME:WEIGHT>`` prompt tags, and what a LoRA file is made for.

The engine, the model manager and the metadata reader all use these, so a
prompt means the same everywhere and a file is judged the same way in the
GUI (from its safetensors header) as in the engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from desktop_sd.core.request import Family

LoraWeights = tuple[tuple[str, float], ...]  # (name, weight) in the order given

# <lora:name>, <lora:name:0.8>, <lora:name:0.8:0.5> (A1111's text-encoder:unet multipliers; the first is used),
# and <lyco:...>, which the LyCORIS extension adds for the same files.
_TAG = re.compile(r"<(?:lora|lyco):([^:<>]+?)(?::([^:<>]*))?(?::[^<>]*)?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]{2,}")
_LOOSE_COMMAS = re.compile(r"[ \t]*,([ \t]*,)*")

FAMILY_NAMES = {
    Family.SD1: "SD 1.x",
    Family.SD2: "SD 2.x",
    Family.SDXL: "SDXL",
    Family.UNKNOWN: "an unknown",
    Family.SD3: "SD 3",
    Family.FLUX: "Flux.1",
}
_SGM_BLOCKS = ("lora_unet_input_blocks_", "lora_unet_output_blocks_", "lora_unet_middle_block_")  # kohya SDXL
_CROSS_ATTENTION_FAMILY = {768: Family.SD1, 1024: Family.SD2, 2048: Family.SDXL}
# Flux.1's own block names: diffusers' ``single_transformer_blocks``; BFL/ComfyUI's, kohya's and XLabs'
# ``double_blocks`` / ``single_blocks``. SD 3's MMDiT has joint blocks only (``joint_blocks`` in SAI's naming).
_FLUX_BLOCKS = ("single_transformer_blocks", "double_blocks", "single_blocks")
_MMDIT_PREFIXES = ("transformer.", "lora_transformer_")  # diffusers/peft, OneTrainer: a transformer, not a UNet
FLUX_WIDTH = 3072  # FLUX.1's hidden width; SD 3 Medium and 3.5 Medium are 1536 wide, SD 3.5 Large 2432
_XLABS = re.compile(r"\.(?:qkv|proj)_lora\d\.down\.weight$")  # XLabs' Flux LoRAs: processor.qkv_lora1.down.weight

# Key parts that mark LyCORIS kinds diffusers cannot load, and what users call them.
LYCORIS_KINDS = (
    ("hada_w1", "LoHa"),
    ("lokr_w1", "LoKr"),
    ("oft_blocks", "OFT"),
    ("oft_diag", "OFT"),
    (".diff_b", "full-difference (LyCORIS full)"),
    (".diff", "full-difference (LyCORIS full)"),
    ("ia3_", "(IA)³"),
    ("glora", "GLoRA"),
)


def extract_lora_tags(prompt: str) -> tuple[str, LoraWeights]:
    """The prompt without its ``<lora:...>`` tags, and the (name, weight) pairs they held.

    A tag without a weight, or with one that is not a number, means weight 1 (as in A1111).
    The cleaned prompt loses the spaces and doubled commas a removed tag leaves behind.
    """
    found: list[tuple[str, float]] = []

    def take(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        try:
            weight = float(match.group(2)) if match.group(2) not in (None, "") else 1.0
        except ValueError:
            weight = 1.0
        if name:
            found.append((name, weight))
        return ""

    cleaned = _TAG.sub(take, prompt)
    if not found:
        return prompt, ()
    cleaned = _LOOSE_COMMAS.sub(",", cleaned)
    cleaned = _SPACES.sub(" ", cleaned)
    cleaned = "\n".join(line.strip().strip(",").strip() for line in cleaned.splitlines())
    return cleaned.strip(), tuple(found)


def merge_loras(*groups: Iterable[tuple[str, float]]) -> LoraWeights:
    """One (name, weight) per name, in first-seen order; a later group's weight wins (tags over the picker)."""
    merged: dict[str, float] = {}
    for group in groups:
        for name, weight in group:
            merged[name] = float(weight)
    return tuple(merged.items())


def lora_tag(name: str, weight: float) -> str:
    """``<lora:name:weight>`` as A1111 writes it."""
    text = f"{weight:g}"
    return f"<lora:{name}:{text}>"


def parse_lora_option(text: str) -> tuple[str, float]:
    """``NAME`` or ``NAME:WEIGHT`` (the command line's ``--lora``); raises ValueError naming the problem."""
    name, sep, weight = text.rpartition(":")
    if not sep or not name:
        return text.strip(), 1.0
    try:
        return name.strip(), float(weight)
    except ValueError:
        raise ValueError(f"the LoRA weight in {text!r} is not a number (write NAME:WEIGHT, e.g. detail:0.7)") from None


def lycoris_kind(keys: Iterable[str]) -> str | None:
    """The name of a LyCORIS kind diffusers cannot load (LoHa, LoKr, ...), or None for LoRA/LoCon."""
    for key in keys:
        for part, kind in LYCORIS_KINDS:
            if part in key:
                return kind
    return None


def is_lora(keys: Iterable[str]) -> bool:
    """Whether the tensor names are those of a LoRA (or a LyCORIS file) in kohya or diffusers/PEFT naming."""
    for key in keys:
        if key.startswith(("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")):
            return True
        if ".lora_A." in key or ".lora_down." in key or ".lora.down." in key or ".lora_linear_layer." in key:
            return True
        if _XLABS.search(key):
            return True
    return False


def lora_family(shapes: Mapping[str, tuple[int, ...]]) -> Family:
    """The model family a LoRA was trained for, from its tensor names and shapes.

    Flux.1 and SD 3 first (``flow_lora_family``). Then a second text encoder (``lora_te2_`` /
    ``text_encoder_2.``) means SDXL. Otherwise the cross-attention width of ``attn2.to_k``
    (768, 1024, 2048) or the text encoder's width (768, 1024) decides; kohya's SDXL block names
    (``input_blocks``) mean SDXL. A file with one text encoder and no known width is taken as SD 1.x;
    anything else is unknown.
    """
    flow = flow_lora_family(shapes)
    if flow is not None:
        return flow
    keys = list(shapes)
    if any(k.startswith(("lora_te2_", "text_encoder_2.", "te2.")) for k in keys):
        return Family.SDXL
    for key, shape in shapes.items():
        if "attn2" in key and ("to_k" in key or "to_v" in key) and _is_down(key) and len(shape) >= 2:
            family = _CROSS_ATTENTION_FAMILY.get(shape[1])
            if family is not None:
                return family
    for key, shape in shapes.items():
        if ("q_proj" in key or "k_proj" in key) and _is_down(key) and len(shape) >= 2:
            family = {768: Family.SD1, 1024: Family.SD2}.get(shape[1])
            if family is not None:
                return family
    if any(k.startswith(_SGM_BLOCKS) for k in keys):
        return Family.SDXL
    if any(k.startswith(("lora_te_", "text_encoder.", "lora_te1_")) for k in keys):
        return Family.SD1
    return Family.UNKNOWN


def flow_lora_family(shapes: Mapping[str, tuple[int, ...]]) -> Family | None:
    """Flux.1 or SD 3 for a LoRA of an MMDiT transformer; None for anything else.

    Flux's single blocks (in any naming) mean Flux; SAI's ``joint_blocks`` mean SD 3. A diffusers-style
    file (``transformer.transformer_blocks.…``) of the joint blocks alone is told apart by its width: a
    layer that reads 3072 features is FLUX.1's (SD 3's are 1536 or 2432 wide, their MLPs 4 times that).
    A Flux LoRA of the joint blocks alone at another width (a test model's) reads as SD 3; real ones
    are rare (trainers train every block).
    """
    keys = list(shapes)
    if any(block in key for key in keys for block in _FLUX_BLOCKS):
        return Family.FLUX
    if any("joint_blocks" in key for key in keys):
        return Family.SD3
    mmdit = [key for key in keys if key.startswith(_MMDIT_PREFIXES)]
    if not mmdit:
        return None
    wide = any(_is_down(key) and len(shapes[key]) >= 2 and shapes[key][1] == FLUX_WIDTH for key in mmdit)
    return Family.FLUX if wide else Family.SD3


def _is_down(key: str) -> bool:
    return "lora_down" in key or "lora_A" in key or "lora.down" in key


def trigger_words(metadata: Mapping[str, str], limit: int = 12) -> tuple[str, ...]:
    """The most frequent training tags from kohya's ``ss_tag_frequency`` metadata, most frequent first."""
    raw = metadata.get("ss_tag_frequency")
    if not raw:
        return ()
    try:
        data = json.loads(raw)
    except ValueError:
        return ()
    counts: dict[str, int] = {}
    if isinstance(data, dict):
        for tags in data.values():
            if not isinstance(tags, dict):
                continue
            for tag, count in tags.items():
                word = str(tag).strip()
                if word and isinstance(count, int | float):
                    counts[word] = counts.get(word, 0) + int(count)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(word for word, _ in ranked[:limit])


def prompt_loras(
    prompt: str, negative_prompt: str, picked: Iterable[tuple[str, float]]
) -> tuple[str, str, LoraWeights]:
    """What a job runs with: both prompts without their LoRA tags, and the picker's LoRAs merged with the tags'."""
    clean, tagged = extract_lora_tags(prompt)
    clean_negative, tagged_negative = extract_lora_tags(negative_prompt)
    return clean, clean_negative, merge_loras(picked, tagged, tagged_negative)
