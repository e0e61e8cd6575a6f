"""Engine fixtures: tiny random models and engines that keep them loaded between tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.engine import Engine
from desktop_sd.models.resolve import resolve_model

# Tiny models run ~25x faster on one thread than on two contended ones.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_request(tiny_model_dir: Path) -> GenerationRequest:
    return GenerationRequest(
        Mode.TXT2IMG, "a red fox in the snow", model=str(tiny_model_dir), width=64, height=64, steps=2, seed=42
    )


@pytest.fixture(scope="session")
def sd_engine() -> Engine:
    """One engine for the regular tiny model, kept loaded across tests."""
    return Engine(resolve=resolve_model, device="cpu")


@pytest.fixture(scope="session")
def inpaint_engine() -> Engine:
    """One engine for the 9-channel tiny inpainting model."""
    return Engine(resolve=resolve_model, device="cpu")


@pytest.fixture(scope="session")
def tiny_sdxl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from desktop_sd.engine.random_models import save_sdxl_pipeline

    return save_sdxl_pipeline(tmp_path_factory.mktemp("models") / "tiny-sdxl")


@pytest.fixture
def counting_resolver(tiny_model_dir: Path) -> Callable[[str], object]:
    calls: list[str] = []

    def resolve(name: str) -> object:
        calls.append(name)
        return resolve_model(name)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.fixture(scope="session")
def sd3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random SD 3 model as a diffusers folder (read only: tests that change it copy it)."""
    from desktop_sd.engine.random_flow_models import save_sd3_pipeline

    return save_sd3_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd3")


@pytest.fixture(scope="session")
def flux_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Flux.1 dev model as a diffusers folder (read only)."""
    from desktop_sd.engine.random_flow_models import save_flux_pipeline

    return save_flux_pipeline(tmp_path_factory.mktemp("models") / "tiny-flux-dev")
