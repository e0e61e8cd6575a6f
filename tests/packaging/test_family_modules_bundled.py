"""The bundle keeps the pipeline and text-encoder modules SD 3 and Flux load by name at run time."""

from __future__ import annotations

from types import ModuleType


def test_sd3_and_flux_modules_go_into_the_bundle(cfg: ModuleType) -> None:
    for name in (
        "diffusers.pipelines.stable_diffusion_3.pipeline_stable_diffusion_3_inpaint",
        "diffusers.pipelines.flux.pipeline_flux_fill",
        "diffusers.pipelines.flux.pipeline_flux_img2img",
        "transformers.models.t5.modeling_t5",
        "transformers.models.t5.tokenization_t5",
    ):
        assert cfg.keep_module(name), name


def test_gguf_goes_in_for_quantized_transformers(cfg: ModuleType) -> None:
    assert "gguf" in cfg.hidden_imports(lambda package, filter=None: [package])
    assert "gguf" in cfg.METADATA_PACKAGES
