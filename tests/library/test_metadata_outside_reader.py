"""An outside reader (sd-parsers, as other tools read A1111 text) finds everything we write, in every mode."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sd_parsers import ParserManager

from desktop_sd.core.provenance import Provenance
from desktop_sd.core.request import Borders, GenerationRequest, Mode
from desktop_sd.core.schedulers import SCHEDULERS, from_a1111
from desktop_sd.library.metadata import encode_png
from tests.library.helpers import make_request

MODES = [
    make_request(),
    make_request(mode=Mode.IMG2IMG, strength=0.35, scheduler="dpmpp_2m_karras", negative_prompt=""),
    make_request(mode=Mode.INPAINT, strength=0.8, mask_feather=6, scheduler="dpmpp_sde_karras"),
    make_request(mode=Mode.OUTPAINT, outpaint=Borders(64, 0, 64, 0), strength=1.0, scheduler="pndm"),
    make_request(prompt="café in Zürich, 猫", seed=2**64 - 1, width=1024, height=576, scheduler="lms"),
]


def _read(request: GenerationRequest, model_hash: str = "0123456789") -> object:
    image = Image.new("RGB", (request.width, request.height), "teal")
    data = encode_png(image, request, "tiny-sd", None, provenance=Provenance(model_hash=model_hash))
    with Image.open(io.BytesIO(data)) as image:
        info = ParserManager().parse(image)
    assert info is not None, "sd-parsers found no metadata"
    return info


@pytest.mark.parametrize("request_", MODES, ids=lambda r: f"{r.mode}-{r.scheduler}")
def test_sd_parsers_reads_back_every_field(request_: GenerationRequest) -> None:
    info = _read(request_)
    (sampler,) = info.samplers  # type: ignore[attr-defined]
    assert [p.value for p in sampler.prompts] == [request_.prompt]
    negatives = [request_.negative_prompt] if request_.negative_prompt else []
    assert [p.value for p in sampler.negative_prompts] == negatives
    parameters = sampler.parameters
    assert int(parameters["seed"]) == request_.seed
    assert int(parameters["steps"]) == request_.steps
    assert float(parameters["cfg_scale"]) == request_.cfg_scale
    assert from_a1111(sampler.name, parameters["scheduler"]) == request_.scheduler
    assert info.metadata["Size"] == f"{request_.width}x{request_.height}"  # type: ignore[attr-defined]
    assert (sampler.model.name, sampler.model.hash) == ("tiny-sd", "0123456789")
    if request_.mode is Mode.TXT2IMG:
        assert "Denoising strength" not in info.metadata  # type: ignore[attr-defined]
    else:
        assert float(info.metadata["Denoising strength"]) == request_.strength  # type: ignore[attr-defined]
    if request_.mode in (Mode.INPAINT, Mode.OUTPAINT):
        assert int(info.metadata["Mask blur"]) == request_.mask_feather  # type: ignore[attr-defined]


@pytest.mark.parametrize("info", SCHEDULERS[1:], ids=lambda i: i.id)
def test_every_scheduler_reads_back_as_itself(info: object) -> None:
    scheduler_id = info.id  # type: ignore[attr-defined]
    (sampler,) = _read(make_request(scheduler=scheduler_id)).samplers  # type: ignore[attr-defined]
    assert sampler.name == info.a1111_sampler  # type: ignore[attr-defined]
    assert from_a1111(sampler.name, sampler.parameters["scheduler"]) == scheduler_id


def test_sd_parsers_reads_this_rounds_keys_and_still_every_base_field() -> None:
    """Clip skip, TI and LoRA hashes (quoted lists with commas and colons), a VAE and the hires fix, as A1111
    writes them: an outside reader still finds the prompt, the parameters and every plain key whole, before and
    after the quoted lists. (sd-parsers 0.x does not read a quoted value holding ": " — A1111's own images
    give it the same trouble — so the hash lists themselves are checked with A1111's reader in
    ``test_metadata_addons.py`` / ``test_prompt_metadata.py``.)"""
    request = make_request(
        prompt="a fox <lora:paper_cut:0.5>, (autumn:1.2) BREAK snow",
        clip_skip=2,
        ti_hashes="easynegative: c74b4e810b",
        hires_scale=2.0,
        hires_steps=10,
        hires_strength=0.45,
        hires_upscaler="Latent",
        fast_decode=True,
        vae="vae-ft-mse-840000-ema-pruned",
    )
    image = Image.new("RGB", (request.width, request.height), "teal")
    data = encode_png(
        image,
        request,
        "tiny-sd",
        None,
        provenance=Provenance(
            model_hash="0123456789",
            lora_hashes=(("paper_cut", "a1b2c3d4e5f6"), ("detail", "0f0e0d0c0b0a")),
            vae_hash="735e4c3a44",
        ),
    )
    with Image.open(io.BytesIO(data)) as opened:
        info = ParserManager().parse(opened)
    assert info is not None
    (sampler,) = info.samplers
    assert [p.value for p in sampler.prompts] == [request.prompt]
    assert int(sampler.parameters["seed"]) == request.seed and int(sampler.parameters["steps"]) == request.steps
    metadata = info.metadata
    assert metadata["Clip skip"] == "2"
    assert metadata["VAE hash"] == "735e4c3a44"
    assert (metadata["Hires upscale"], metadata["Hires steps"], metadata["Hires upscaler"]) == ("2", "10", "Latent")
    assert float(metadata["Denoising strength"]) == 0.45
    assert metadata["Decoder"] == "TAESD"  # after the quoted lists
    assert metadata["Version"].startswith("desktop-sd ")
