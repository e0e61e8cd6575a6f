"""The shipped config folders: complete, parseable, the real architectures, and CLIP's tokenizer."""

from __future__ import annotations

import json

import pytest

from desktop_sd.core import paths
from desktop_sd.core.request import Family
from desktop_sd.models.catalog import load_catalog, recommendation_reason, recommended
from desktop_sd.models.inspection import config_dir_for

# Published parameter counts (millions) of each family's UNet and text encoder(s).
ARCHITECTURES = {
    "sd1": {"unet": 859.52, "text_encoder": 123.06},
    "sd1-inpainting": {"unet": 859.54, "text_encoder": 123.06},
    "sd2": {"unet": 865.91, "text_encoder": 340.39},
    "sd2-inpainting": {"unet": 865.93, "text_encoder": 340.39},
    "sdxl": {"unet": 2567.46, "text_encoder": 123.06, "text_encoder_2": 694.66},
    "sdxl-inpainting": {"unet": 2567.48, "text_encoder": 123.06, "text_encoder_2": 694.66},
}
CAT_IDS = [49406, 320, 1125, 539, 320, 2368, 49407]


@pytest.mark.parametrize(
    ("family", "inpainting", "name"),
    [
        (Family.SD1, False, "sd1"),
        (Family.SD1, True, "sd1-inpainting"),
        (Family.SD2, False, "sd2"),
        (Family.SD2, True, "sd2-inpainting"),
        (Family.SDXL, False, "sdxl"),
        (Family.SDXL, True, "sdxl-inpainting"),
    ],
)
def test_every_family_has_its_config_folder(family: Family, inpainting: bool, name: str) -> None:
    folder = config_dir_for(family, inpainting)
    assert folder is not None and folder.name == name
    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    for component, value in index.items():
        if isinstance(value, list) and value[0] is not None:
            assert (folder / component).is_dir(), component
    assert config_dir_for(Family.UNKNOWN, inpainting) is None


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_configs_build_the_published_architectures(name: str) -> None:
    import diffusers
    import transformers
    from accelerate import init_empty_weights

    folder = paths.resources_dir() / "model-configs" / name
    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    counts = {}
    with init_empty_weights():  # meta tensors: no memory, no time
        unet = diffusers.UNet2DConditionModel.from_config(diffusers.UNet2DConditionModel.load_config(folder / "unet"))
        counts["unet"] = unet.num_parameters()
        diffusers.AutoencoderKL.from_config(diffusers.AutoencoderKL.load_config(folder / "vae"))
        for part in ("text_encoder", "text_encoder_2"):
            if part in index:
                cls = getattr(transformers, index[part][1])
                counts[part] = cls(transformers.CLIPTextConfig.from_pretrained(folder / part)).num_parameters()
    scheduler_cls = getattr(diffusers, index["scheduler"][1])
    scheduler_cls.from_config(scheduler_cls.load_config(folder / "scheduler"))
    assert {k: round(v / 1e6, 2) for k, v in counts.items()} == ARCHITECTURES[name]
    for tokenizer in ("tokenizer", "tokenizer_2"):
        if tokenizer in index:
            loaded = transformers.CLIPTokenizer.from_pretrained(folder / tokenizer)
            assert loaded("a photo of a cat").input_ids == CAT_IDS
            assert len(loaded) == 49408


def test_sdxl_second_tokenizer_pads_with_exclamation_marks() -> None:
    import transformers

    folder = paths.resources_dir() / "model-configs" / "sdxl"
    assert transformers.CLIPTokenizer.from_pretrained(folder / "tokenizer").pad_token == "<|endoftext|>"
    assert transformers.CLIPTokenizer.from_pretrained(folder / "tokenizer_2").pad_token == "!"


def test_catalog_offers_the_promised_models_with_what_the_dialog_shows() -> None:
    entries = {e.id: e for e in load_catalog()}
    wanted = {
        "sd15": "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "sd15-inpainting": "stable-diffusion-v1-5/stable-diffusion-inpainting",
        "sd-turbo": "stabilityai/sd-turbo",
        "sdxl-base": "stabilityai/stable-diffusion-xl-base-1.0",
        "sdxl-turbo": "stabilityai/sdxl-turbo",
        "sdxl-inpainting": "diffusers/stable-diffusion-xl-1.0-inpainting-0.1",
        "dreamshaper-8": "Lykon/dreamshaper-8",
        "realistic-vision-5.1": "SG161222/Realistic_Vision_V5.1_noVAE",
        "waifu-diffusion-1.4": "hakurei/waifu-diffusion",
        "taesd": "madebyollin/taesd",
        "taesdxl": "madebyollin/taesdxl",
    }
    assert {k: entries[k].repo_id for k in wanted} == wanted
    for entry in entries.values():
        assert entry.licence and entry.purpose and entry.size_bytes > 0 and entry.files
        assert not any(str(f).endswith((".ckpt", ".bin")) for f in entry.files)  # never a pickle
        # SD 3 and Flux single files run with an installed diffusers model's configs (models.transformer_files)
        if entry.kind == "checkpoint" and entry.family not in (Family.SD3, Family.FLUX):
            assert config_dir_for(entry.family, entry.inpainting) is not None


@pytest.mark.parametrize(("vram_mb", "expected"), [(None, "sd-turbo"), (4096, "sd-turbo"), (24576, "sdxl-base")])
def test_recommended_first_download_follows_the_gpu(vram_mb: int | None, expected: str) -> None:
    entry = recommended(load_catalog(), vram_mb)
    assert entry is not None and entry.id == expected


def test_without_a_gpu_the_recommendation_says_why_a_turbo_model_and_few_steps() -> None:
    entry = recommended(load_catalog(), None)
    assert entry is not None
    reason = recommendation_reason(entry, None)
    assert "No GPU" in reason and "CPU" in reason and "SD-Turbo" in reason and "1 to 4 steps" in reason
    assert "GB of video memory" in recommendation_reason(entry, 4096)
