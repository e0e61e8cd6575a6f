"""The sizes of SD 3 / 3.5 and Flux.1 parts read from their shapes, checked at the real models' sizes
(built on the meta device: no memory), in the original layouts people download and in diffusers'."""

from __future__ import annotations

import json
from typing import Any

import pytest
from accelerate import init_empty_weights
from diffusers import AutoencoderKL, FluxTransformer2DModel, SD3Transformer2DModel
from transformers import CLIPTextConfig, CLIPTextModelWithProjection, T5Config, T5EncoderModel

from desktop_sd.engine import flow_configs
from desktop_sd.engine.flow_layout import sd3_to_original
from desktop_sd.engine.ldm_layout import VAE_PREFIX, vae_to_ldm
from desktop_sd.engine.random_flow_models import shipped_configs

SD3_MEDIUM = {"num_layers": 24, "num_attention_heads": 24, "caption_projection_dim": 1536, "pos_embed_max_size": 192}
SD35_MEDIUM = {
    **SD3_MEDIUM,
    "pos_embed_max_size": 384,
    "qk_norm": "rms_norm",
    "dual_attention_layers": tuple(range(13)),
}
SD35_LARGE = {"num_layers": 38, "num_attention_heads": 38, "caption_projection_dim": 2432, "qk_norm": "rms_norm"}


def _shipped(family: str, part: str) -> dict[str, Any]:
    config = json.loads((shipped_configs(family) / part / "config.json").read_text(encoding="utf-8"))
    return {k: v for k, v in config.items() if not k.startswith("_")}


def _shapes(model: Any) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize(
    "sizes", [SD3_MEDIUM, SD35_MEDIUM, SD35_LARGE], ids=["sd3-medium", "sd3.5-medium", "sd3.5-large"]
)
def test_sd3_transformer_sizes_in_both_layouts(sizes: dict[str, Any]) -> None:
    config = {**_shipped("sd3", "transformer"), "qk_norm": None, "dual_attention_layers": (), **sizes}
    with init_empty_weights():
        model = SD3Transformer2DModel(**config)
    state = model.state_dict()
    for shapes in (_shapes(model), {k: tuple(v.shape) for k, v in sd3_to_original(state, prefix="").items()}):
        derived = flow_configs.sd3_transformer(shapes)
        assert {k: derived[k] for k in config if k in derived} == {k: config[k] for k in derived}


@pytest.mark.parametrize(
    ("guidance", "in_channels"), [(True, 64), (False, 64), (True, 384)], ids=["dev", "schnell", "fill"]
)
def test_flux_transformer_sizes(guidance: bool, in_channels: int) -> None:
    config = {**_shipped("flux", "transformer"), "guidance_embeds": guidance, "in_channels": in_channels}
    config["out_channels"] = 64
    with init_empty_weights():
        model = FluxTransformer2DModel(**config)
    derived = flow_configs.flux_transformer(_shapes(model))
    assert derived == {k: config[k] for k in derived}


def test_flux_transformer_sizes_in_the_original_layout() -> None:
    """FLUX.1 [dev] as Black Forest Labs names it (``flux1-dev.safetensors``)."""
    shapes: dict[str, tuple[int, ...]] = {
        "img_in.weight": (3072, 64),
        "txt_in.weight": (3072, 4096),
        "vector_in.in_layer.weight": (3072, 768),
        "guidance_in.in_layer.weight": (3072, 256),
        "final_layer.linear.weight": (64, 3072),
    }
    shapes.update({f"double_blocks.{i}.img_attn.norm.query_norm.scale": (128,) for i in range(19)})
    shapes.update({f"single_blocks.{i}.linear2.weight": (3072, 15360) for i in range(38)})
    derived = flow_configs.flux_transformer(shapes)
    shipped = {**_shipped("flux", "transformer"), "out_channels": 64}
    assert derived == {k: shipped[k] for k in derived}


def test_vae_and_text_encoder_sizes_match_the_shipped_configs() -> None:
    with init_empty_weights():
        vae = AutoencoderKL.from_config(_shipped("flux", "vae"))
    ldm = {k.removeprefix(VAE_PREFIX): tuple(v.shape) for k, v in vae_to_ldm(vae.state_dict(), vae.config).items()}
    for shapes in (_shapes(vae), ldm):
        derived = flow_configs.vae(shapes)
        assert {
            k: tuple(v) if isinstance(v, list) else v for k, v in _shipped("flux", "vae").items() if k in derived
        } == {k: tuple(v) if isinstance(v, tuple) else v for k, v in derived.items()}
    for part in ("text_encoder", "text_encoder_2"):
        config = CLIPTextConfig.from_pretrained(shipped_configs("sd3") / part)
        with init_empty_weights():
            clip = CLIPTextModelWithProjection(config)
        derived = flow_configs.clip_text(_shapes(clip))
        assert derived == {k: getattr(config, k) for k in derived}
    config = T5Config.from_pretrained(shipped_configs("flux") / "text_encoder_2")
    with init_empty_weights():
        t5 = T5EncoderModel(config)
    derived = flow_configs.t5_encoder(_shapes(t5))
    assert derived == {k: getattr(config, k) for k in derived}
