"""SD 3.5 and Flux.1 files as people download them, run with no installed diffusers model: all-in-one
checkpoints, and transformers whose text encoders and VAE are ComfyUI-style split files, each part built
with the configs and tokenizers shipped in resources/model-configs (sizes read from the files' shapes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, GenerationRequest, Mode, ModelFormat
from desktop_sd.engine import Engine
from desktop_sd.engine.families import sd3
from desktop_sd.engine.random_flow_models import (
    build_flux_shaped,
    build_sd3_shaped,
    save_gguf_t5,
    save_gguf_transformer,
    shipped_configs,
    write_flux_split,
    write_sd3_all_in_one,
)
from desktop_sd.models.registry import Registry
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import box_mask, gradient, max_diff, pixels, run


def _plain(pipe: object, request: GenerationRequest) -> object:
    pipe.set_progress_bar_config(disable=True)  # type: ignore[attr-defined]
    return pipe(  # type: ignore[operator]
        request.prompt, negative_prompt=request.negative_prompt or None, width=64, height=64,
        num_inference_steps=request.steps, guidance_scale=request.cfg_scale,
        generator=torch.Generator("cpu").manual_seed(request.seed),
    ).images[0]  # fmt: skip


def test_an_sd3_all_in_one_checkpoint_runs_with_no_model_installed(tmp_path: Path) -> None:
    pipe = build_sd3_shaped(seed=1)
    path = write_sd3_all_in_one(pipe, tmp_path / "sd3_medium_incl_clips_t5xxl.safetensors")
    ref = resolve_model(str(path))
    assert (ref.format, ref.family, ref.config_dir, ref.parts) == (
        ModelFormat.SINGLE_FILE, Family.SD3, shipped_configs("sd3"), ()
    )  # fmt: skip
    request = GenerationRequest(
        Mode.TXT2IMG, "a lighthouse at dusk", negative_prompt="blurry", model=str(path),
        width=64, height=64, steps=2, seed=5, cfg_scale=4.0,
    )  # fmt: skip
    result = run(Engine(resolve=resolve_model, device="cpu"), request)
    assert max_diff(result.images[0], _plain(pipe, request)) <= 1


def test_a_flux_transformer_runs_with_comfyui_split_files(tmp_path: Path) -> None:
    pipe = build_flux_shaped(seed=2, guidance=False)  # schnell: its own scheduler shift
    transformer = write_flux_split(pipe, tmp_path / "ComfyUI" / "models")
    ref = resolve_model(str(transformer))
    assert ref.config_dir == shipped_configs("flux")
    assert sorted(p.name for p in ref.parts) == ["ae.safetensors", "clip_l.safetensors", "t5xxl_fp16.safetensors"]
    request = GenerationRequest(
        Mode.TXT2IMG, "a red fox", model=str(transformer), width=64, height=64, steps=2, seed=3, cfg_scale=0.0
    )
    engine = Engine(resolve=resolve_model, device="cpu")
    result = run(engine, request)
    assert max_diff(result.images[0], _plain(pipe, request)) <= 1
    assert engine._model is not None
    assert engine._model.base.scheduler.config.shift == 1.0  # schnell's, not dev's dynamic shifting


def test_split_files_are_found_in_a_linked_comfyui_folder_and_fp16_wins_over_fp8(tmp_path: Path) -> None:
    pipe = build_flux_shaped(seed=4)
    comfy = tmp_path / "ComfyUI"
    transformer = write_flux_split(pipe, comfy / "models")
    elsewhere = tmp_path / "Downloads" / "flux1-dev-finetune.safetensors"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(transformer.read_bytes())  # a second Flux file, downloaded outside ComfyUI
    encoders = comfy / "models" / "text_encoders"
    t5 = load_file(str(encoders / "t5xxl_fp16.safetensors"))
    # as the real fp8 files are: 8-bit weights, norms kept wide; named to sort before the fp16 file
    fp8 = {k: v if "layer_norm" in k else v.to(torch.float8_e4m3fn) for k, v in t5.items()}
    fp8["encoder.embed_tokens.weight"] = fp8.pop("shared.weight")  # the other name of T5's token embedding
    save_file(fp8, str(encoders / "t5xxl_e4m3fn_fp8.safetensors"))
    scaled = {**{k: v.to(torch.float8_e4m3fn) for k, v in t5.items()}, "scaled_fp8": torch.zeros(1)}
    save_file(scaled, str(encoders / "t5xxl_fp8_e4m3fn_scaled.safetensors"))

    with pytest.raises(ModelError, match=r"CLIP-L text encoder.*T5-XXL.*VAE.*linked ComfyUI"):
        resolve_model(str(elsewhere))  # not linked yet: nothing beside the file
    Registry().add_folder(comfy)
    ref = resolve_model(str(elsewhere))
    assert sorted(p.name for p in ref.parts) == ["ae.safetensors", "clip_l.safetensors", "t5xxl_fp16.safetensors"]

    (encoders / "t5xxl_fp16.safetensors").unlink()  # only fp8 left: it loads, cast up to the run's precision
    ref = resolve_model(str(elsewhere))
    assert "t5xxl_e4m3fn_fp8.safetensors" in [p.name for p in ref.parts]
    request = GenerationRequest(Mode.TXT2IMG, "a red fox", model=str(elsewhere), width=64, height=64, steps=2, seed=3)
    result = run(Engine(resolve=resolve_model, device="cpu"), request)
    assert result.images[0].size == (64, 64)

    (encoders / "t5xxl_e4m3fn_fp8.safetensors").unlink()  # only ComfyUI's scaled fp8: refused by name
    with pytest.raises(ModelError, match=r"T5-XXL.*t5xxl_fp8_e4m3fn_scaled\.safetensors is a ComfyUI \"scaled fp8\""):
        resolve_model(str(elsewhere))


def test_a_damaged_part_is_named_before_any_weight_loads(tmp_path: Path) -> None:
    pipe = build_flux_shaped(seed=6)
    transformer = write_flux_split(pipe, tmp_path / "models")
    ae = tmp_path / "models" / "vae" / "ae.safetensors"
    ae.write_bytes(ae.read_bytes()[: ae.stat().st_size // 2])  # a download cut short
    with pytest.raises(ModelError, match=r"needs the VAE"):
        resolve_model(str(transformer))


def test_a_flux_fill_file_inpaints_with_split_files_and_keeps_outside_pixels(tmp_path: Path) -> None:
    pipe = build_flux_shaped(seed=8, fill=True)
    transformer = write_flux_split(pipe, tmp_path / "models")
    ref = resolve_model(str(transformer))
    assert (ref.family, ref.inpainting, ref.config_dir) == (Family.FLUX, True, shipped_configs("flux"))
    init, mask = gradient(), box_mask((64, 64), (16, 16, 48, 48))
    request = GenerationRequest(
        Mode.INPAINT, "a red fox", model=str(transformer), width=64, height=64, steps=2, seed=7, cfg_scale=30.0,
        init_image=init, mask=mask, mask_feather=0,
    )  # fmt: skip
    painted = run(Engine(resolve=resolve_model, device="cpu"), request)
    pipe.set_progress_bar_config(disable=True)
    expected = pipe(
        prompt="a red fox", image=init, mask_image=mask, width=64, height=64, strength=request.strength,
        num_inference_steps=2, guidance_scale=30.0, generator=torch.Generator("cpu").manual_seed(7),
    ).images[0]  # fmt: skip
    inside = np.asarray(mask) >= 128
    assert np.abs(pixels(painted.images[0])[inside] - pixels(expected)[inside]).max() <= 1
    assert (pixels(painted.images[0])[~inside] == pixels(init)[~inside]).all()


def test_a_gguf_transformer_runs_with_split_files_and_stays_quantized(tmp_path: Path) -> None:
    pipe = build_flux_shaped(seed=9)
    models = tmp_path / "ComfyUI" / "models"
    write_flux_split(pipe, models)
    folder = tmp_path / "diffusers-copy"
    pipe.save_pretrained(folder, safe_serialization=True)
    (models / "unet").mkdir()
    gguf_file = save_gguf_transformer(folder, models / "unet" / "flux1-dev-Q8_0.gguf")
    ref = resolve_model(str(gguf_file))
    assert (ref.format, ref.config_dir) == (ModelFormat.GGUF, shipped_configs("flux"))
    request = GenerationRequest(Mode.TXT2IMG, "a red fox", model=str(gguf_file), width=64, height=64, steps=2, seed=3)
    engine = Engine(resolve=resolve_model, device="cpu")
    result = run(engine, request)
    assert engine._model is not None
    transformer = engine._model.base.transformer
    assert type(transformer.x_embedder.weight).__name__ == "GGUFParameter"
    assert transformer.config.guidance_embeds and transformer.config.num_attention_heads == 1  # sizes from the file
    # Q8_0 rounds the weights a little (1 here); a transformer built with wrong sizes would not load at all
    assert max_diff(result.images[0], _plain(pipe, request)) <= 4


def test_an_sd3_file_without_t5_runs_on_clip_alone_and_says_so(tmp_path: Path) -> None:
    pipe = build_sd3_shaped(seed=10, with_t5=False)
    path = write_sd3_all_in_one(pipe, tmp_path / "sd3_medium_incl_clips.safetensors")
    request = GenerationRequest(Mode.TXT2IMG, "a lighthouse", model=str(path), width=64, height=64, steps=2, seed=5)
    result = run(Engine(resolve=resolve_model, device="cpu"), request)
    assert sd3.NO_T5 in result.notices
    assert max_diff(result.images[0], _plain(pipe, request)) <= 1


def test_a_gguf_t5_encoder_is_found_and_used_when_no_safetensors_one_is_there(tmp_path: Path) -> None:
    pipe = build_flux_shaped(seed=13)
    transformer = write_flux_split(pipe, tmp_path / "ComfyUI" / "models")
    encoders = tmp_path / "ComfyUI" / "models" / "text_encoders"
    gguf_t5 = save_gguf_t5(pipe.text_encoder_2, encoders / "t5-v1_1-xxl-encoder-Q8_0.gguf")
    assert "t5xxl_fp16.safetensors" in [p.name for p in resolve_model(str(transformer)).parts]  # fp16 first
    (encoders / "t5xxl_fp16.safetensors").unlink()
    ref = resolve_model(str(transformer))
    assert gguf_t5 in ref.parts
    request = GenerationRequest(Mode.TXT2IMG, "a red fox", model=str(transformer), width=64, height=64, steps=2, seed=3)
    engine = Engine(resolve=resolve_model, device="cpu")
    result = run(engine, request)
    assert engine._model is not None
    t5 = engine._model.base.text_encoder_2
    assert t5.config.dense_act_fn == "gelu_new" and t5.config.is_gated_act  # T5 v1.1's, not GGUF's guess
    assert max_diff(result.images[0], _plain(pipe, request)) <= 4  # Q8_0 rounding only
