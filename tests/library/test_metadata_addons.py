"""LoRAs and a VAE in the metadata: written as A1111 writes them, read back into a request."""

from __future__ import annotations

import io

from PIL import Image

from desktop_sd.core.provenance import Provenance
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.library.metadata import a1111_parameters, encode_png, read_parameters
from desktop_sd.library.read_a1111 import parse_a1111


def request(**changes: object) -> GenerationRequest:
    base = GenerationRequest(Mode.TXT2IMG, "a fox <lora:detail:0.6>", width=512, height=512, steps=20, seed=5)
    return base.replace(**changes)


def test_lora_hashes_and_vae_as_a1111_writes_them() -> None:
    text = a1111_parameters(
        request(loras=(("style", 0.8),), vae="vae-ft-mse-840000-ema-pruned"),
        "model.safetensors",
        model_hash="abcdef1234",
        lora_hashes=(("detail", "0123456789ab"), ("style", "ba9876543210")),
        vae_hash="735e4c3a44",
    )
    prompt, params = text.split("\n")
    assert prompt == "a fox <lora:detail:0.6> <lora:style:0.8>"  # picked LoRAs become tags A1111 understands
    assert (
        "Model hash: abcdef1234, Model: model, VAE hash: 735e4c3a44, VAE: vae-ft-mse-840000-ema-pruned.safetensors"
        in params
    )
    assert 'Lora hashes: "detail: 0123456789ab, style: ba9876543210"' in params
    parsed = parse_a1111(text)
    assert parsed is not None
    assert parsed.extra["Lora hashes"] == "detail: 0123456789ab, style: ba9876543210"
    again = parsed.to_request()
    assert again.prompt == prompt and again.vae == "vae-ft-mse-840000-ema-pruned"


def test_no_lora_no_vae_writes_neither() -> None:
    text = a1111_parameters(request(prompt="a fox"), "m")
    assert "Lora hashes" not in text and "VAE" not in text


def test_our_own_png_restores_the_picked_loras_and_vae() -> None:
    original = request(loras=(("style", 0.8),), vae="ft-mse")
    provenance = Provenance(lora_hashes=(("style", "ba9876543210"),))
    data = encode_png(Image.new("RGB", (8, 8)), original, "m", provenance=provenance)
    parsed = read_parameters(Image.open(io.BytesIO(data)))
    assert parsed is not None
    again = parsed.to_request()
    assert again.loras == (("style", 0.8),) and again.vae == "ft-mse"
    assert again.prompt == "a fox <lora:detail:0.6>"  # our own JSON keeps the prompt as typed
