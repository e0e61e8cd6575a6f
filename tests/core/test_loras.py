"""LoRA prompt tags and what a LoRA file is made for, from names and shapes alone."""

from __future__ import annotations

import json

import pytest

from desktop_sd.core.loras import (
    extract_lora_tags,
    lora_family,
    lycoris_kind,
    merge_loras,
    parse_lora_option,
    prompt_loras,
    trigger_words,
)
from desktop_sd.core.request import Family


@pytest.mark.parametrize(
    ("prompt", "clean", "loras"),
    [
        ("a fox <lora:detail:0.6>, snow", "a fox, snow", (("detail", 0.6),)),
        ("<lora:a:1> <LORA:b> photo", "photo", (("a", 1.0), ("b", 1.0))),
        ("photo, <lora:my style v2:0.8:0.5>", "photo", (("my style v2", 0.8),)),
        ("photo <lyco:hada:0.3>", "photo", (("hada", 0.3),)),
        ("no tags here, (word:1.2)", "no tags here, (word:1.2)", ()),
        ("<lora:x:abc> cat", "cat", (("x", 1.0),)),
    ],
)
def test_tags_come_out_of_the_prompt(prompt: str, clean: str, loras: tuple) -> None:
    assert extract_lora_tags(prompt) == (clean, loras)


def test_tags_and_picker_merge_with_the_tag_winning() -> None:
    prompt, negative, loras = prompt_loras("<lora:a:0.5> fox", "<lora:c:-1> blur", [("a", 1.0), ("b", 0.7)])
    assert (prompt, negative) == ("fox", "blur")
    assert loras == (("a", 0.5), ("b", 0.7), ("c", -1.0))
    assert merge_loras([("x", 1)], [("x", 2)]) == (("x", 2.0),)


def test_command_line_option() -> None:
    assert parse_lora_option("detail:0.7") == ("detail", 0.7)
    assert parse_lora_option("detail") == ("detail", 1.0)
    assert parse_lora_option("C:/loras/x.safetensors:0.5") == ("C:/loras/x.safetensors", 0.5)
    with pytest.raises(ValueError, match="not a number"):
        parse_lora_option("detail:strong")


def test_family_from_real_widths() -> None:
    sd1 = {"lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (4, 768)}
    sd2 = {"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight": (4, 1024)}
    xl = {"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight": (4, 2048)}
    te2 = {"lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": (4, 1280)}
    sgm = {"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": (4, 640)}
    assert [lora_family(s) for s in (sd1, sd2, xl, te2, sgm)] == [
        Family.SD1,
        Family.SD2,
        Family.SDXL,
        Family.SDXL,
        Family.SDXL,
    ]
    assert lora_family({"unet.conv_in.lora_A.weight": (4, 4, 3, 3)}) is Family.UNKNOWN


def test_lycoris_kinds_are_named() -> None:
    assert lycoris_kind(["lora_unet_x.hada_w1_a"]) == "LoHa"
    assert lycoris_kind(["lora_unet_x.lokr_w1"]) == "LoKr"
    assert lycoris_kind(["lora_unet_x.lora_down.weight"]) is None


def test_trigger_words_most_frequent_first() -> None:
    meta = {"ss_tag_frequency": json.dumps({"10_a": {"red fox": 5, "snow": 2}, "5_b": {"snow": 4, " ": 9}})}
    assert trigger_words(meta) == ("snow", "red fox")
    assert trigger_words({"ss_tag_frequency": "not json"}) == ()
    assert trigger_words({}) == ()
