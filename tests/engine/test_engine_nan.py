"""A model whose weights produce NaN (a damaged fine-tune) says so instead of handing back a flat picture."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import GenerationRequest
from desktop_sd.engine import Engine
from desktop_sd.engine.random_models import build_pipeline
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import run


@pytest.mark.parametrize("part", ["unet", "vae"])
def test_weights_that_produce_nan_give_a_clear_error(
    tmp_path: Path, tiny_request: GenerationRequest, part: str
) -> None:
    folder = tmp_path / f"nan-{part}"
    pipe = build_pipeline("tiny", tokenizer_dir=folder / "tokenizer")
    with torch.no_grad():
        for parameter in getattr(pipe, part).parameters():
            parameter.fill_(float("nan"))
    pipe.save_pretrained(folder, safe_serialization=True)
    engine = Engine(resolve=resolve_model, device="cpu")
    with pytest.raises(ModelError) as caught:
        run(engine, tiny_request.replace(model=str(folder)))
    message = str(caught.value)
    assert message.startswith("The model produced no image (NaN)")
    assert "damaged" in message and "float32" in message and "another VAE" in message
