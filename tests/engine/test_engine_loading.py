"""Loading models: single files offline, corrupt and truncated files, pickles, custom code, memory checks."""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import shutil
import struct
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from desktop_sd.core.errors import ModelError
from desktop_sd.core.inputs import PipelineKind
from desktop_sd.core.request import Family, GenerationRequest, Mode, ModelFormat, ModelRef
from desktop_sd.engine import Engine, loading
from desktop_sd.engine.random_models import build_pipeline, save_single_file
from desktop_sd.models.inspection import detect
from desktop_sd.models.resolve import resolve_model
from tests.engine.helpers import gradient, max_diff, run


@pytest.fixture(scope="module")
def tiny_single_file(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    return save_single_file(pipe, tmp_path_factory.mktemp("single") / "tiny-sd1.safetensors")


def single_file_ref(path: Path, config_dir: Path | None) -> ModelRef:
    return ModelRef(str(path), path, ModelFormat.SINGLE_FILE, Family.SD1, False, config_dir)


def engine_for(ref: ModelRef) -> Engine:
    return Engine(resolve=lambda name: ref, device="cpu")


def test_single_file_checkpoint_has_the_original_layout(tiny_single_file: Path) -> None:
    keys = load_file(str(tiny_single_file)).keys()
    prefixes = {key.split(".")[0] for key in keys}
    assert prefixes == {"model", "first_stage_model", "cond_stage_model"}
    assert "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight" in keys
    assert "model.diffusion_model.input_blocks.0.0.weight" in keys
    info = detect(tiny_single_file)
    assert (info.kind, info.family, info.inpainting) == ("checkpoint", Family.SD1, False)


def test_single_file_reproduces_the_diffusers_folder(
    tiny_single_file: Path, tiny_model_dir: Path, sd_engine: Engine, tiny_request: GenerationRequest
) -> None:
    from_folder = run(sd_engine, tiny_request)
    engine = engine_for(single_file_ref(tiny_single_file, tiny_model_dir))
    from_file = run(engine, tiny_request.replace(model="tiny-sd1.safetensors"))
    assert max_diff(from_file.images[0], from_folder.images[0]) == 0
    inpaint = tiny_request.replace(
        model="tiny-sd1.safetensors", mode=Mode.INPAINT, init_image=gradient(), mask=gradient().convert("L")
    )
    assert run(engine, inpaint).images  # mode switch on a single-file model
    assert engine.loads == 1
    # A1111's "Model hash" of the checkpoint (the folder model has none)
    assert from_file.model_hash == hashlib.sha256(tiny_single_file.read_bytes()).hexdigest()[:10]
    assert from_folder.model_hash == ""


def test_fp16_single_file_loads_as_fp32_on_the_cpu(
    tiny_model_dir: Path, tmp_path: Path, tiny_request: GenerationRequest
) -> None:
    import torch

    path = save_single_file(build_pipeline("tiny"), tmp_path / "half.safetensors", dtype=torch.float16)
    engine = engine_for(single_file_ref(path, tiny_model_dir))
    assert run(engine, tiny_request).images[0].size == (64, 64)
    assert engine._model.pipeline(PipelineKind.TXT2IMG).unet.dtype == torch.float32


def _cut_in_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _cut_the_tail(data: bytes) -> bytes:
    return data[:-3]


def _header_only(data: bytes) -> bytes:
    return data[:4]


def _header_longer_than_file(data: bytes) -> bytes:
    return struct.pack("<Q", len(data) * 2) + data[8:]


def _overlapping_tensors(data: bytes) -> bytes:
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    names = [n for n in header if n != "__metadata__"]
    first, second = header[names[0]], header[names[1]]
    if first["data_offsets"][1] - first["data_offsets"][0] == second["data_offsets"][1] - second["data_offsets"][0]:
        second["data_offsets"] = first["data_offsets"]
    else:
        second["data_offsets"] = [first["data_offsets"][0], first["data_offsets"][0] + 4 * math.prod(second["shape"])]
    encoded = json.dumps(header).encode()
    encoded += b" " * (length - len(encoded))
    return data[:8] + encoded + data[8 + length :]


@pytest.mark.parametrize(
    "damage", [_cut_in_half, _cut_the_tail, _header_only, _header_longer_than_file, _overlapping_tensors]
)
def test_damaged_safetensors_is_reported_quickly(
    tiny_single_file: Path, tmp_path: Path, tiny_request: GenerationRequest, damage
) -> None:
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(damage(tiny_single_file.read_bytes()))
    engine = engine_for(single_file_ref(broken, tiny_single_file.parent))
    started = time.perf_counter()
    with pytest.raises(ModelError, match="corrupt or incomplete"):
        run(engine, tiny_request)
    assert time.perf_counter() - started < 1.0
    assert engine.loads == 0


def test_a_file_claiming_more_weights_than_memory_is_refused_before_mapping_it(
    tiny_single_file: Path, tmp_path: Path, tiny_request: GenerationRequest
) -> None:
    import psutil

    from tests.models.builders import make_sparse_checkpoint

    memory = psutil.virtual_memory().total + psutil.swap_memory().total
    huge = make_sparse_checkpoint(tmp_path / "huge.safetensors", 2 * memory)
    engine = engine_for(single_file_ref(huge, tiny_single_file.parent))
    started = time.perf_counter()
    with pytest.raises(ModelError, match="more than this computer's memory"):
        run(engine, tiny_request)
    assert time.perf_counter() - started < 1.0
    assert engine.loads == 0


def test_checkpoint_missing_parts_fails_clearly(
    tiny_single_file: Path, tiny_model_dir: Path, tmp_path: Path, tiny_request: GenerationRequest
) -> None:
    tensors = {k: v for k, v in load_file(str(tiny_single_file)).items() if k.startswith("model.")}
    path = tmp_path / "unet-only.safetensors"
    save_file(tensors, str(path))
    with pytest.raises(ModelError, match=r"unet-only\.safetensors could not be loaded"):
        run(engine_for(single_file_ref(path, tiny_model_dir)), tiny_request)


def test_single_file_without_an_offline_config_is_refused(
    tiny_single_file: Path, tiny_request: GenerationRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("nothing may be fetched")

    monkeypatch.setattr("huggingface_hub.hf_hub_download", no_network)
    monkeypatch.setattr("huggingface_hub.snapshot_download", no_network)
    with pytest.raises(ModelError, match="offline configuration"):
        run(engine_for(single_file_ref(tiny_single_file, None)), tiny_request)


class _Payload:
    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch '{self.sentinel}'",))


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".bin"])
def test_pickle_checkpoint_is_never_unpickled(tmp_path: Path, tiny_request: GenerationRequest, suffix: str) -> None:
    sentinel = tmp_path / "pwned"
    path = tmp_path / f"evil{suffix}"
    path.write_bytes(pickle.dumps({"state_dict": _Payload(sentinel)}))
    ref = ModelRef(str(path), path, ModelFormat.SINGLE_FILE, Family.SD1, False, None)
    with pytest.raises(ModelError, match="pickle"):
        run(engine_for(ref), tiny_request)
    assert not sentinel.exists()


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_model_with_custom_code_is_refused(
    tiny_model_dir: Path, tmp_path: Path, tiny_request: GenerationRequest
) -> None:
    folder = copy_model(tiny_model_dir, tmp_path / "custom")
    sentinel = tmp_path / "ran"
    (folder / "my_unet.py").write_text(f"open({str(sentinel)!r}, 'w').close()\nclass MyUNet: pass\n")
    index = json.loads((folder / "model_index.json").read_text())
    index["unet"] = ["my_unet", "MyUNet"]
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match="never runs code"):
        run(Engine(resolve=resolve_model, device="cpu"), tiny_request.replace(model=str(folder)))
    index["_class_name"] = ["pipeline", "MyPipeline"]
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match="never runs code"):
        run(Engine(resolve=resolve_model, device="cpu"), tiny_request.replace(model=str(folder)))
    assert not sentinel.exists()


def test_unsupported_pipeline_is_named(tiny_model_dir: Path, tmp_path: Path, tiny_request: GenerationRequest) -> None:
    folder = copy_model(tiny_model_dir, tmp_path / "kandinsky")
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = "KandinskyV22Pipeline"
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match="KandinskyV22Pipeline model, which Desktop SD cannot run"):
        run(Engine(resolve=resolve_model, device="cpu"), tiny_request.replace(model=str(folder)))


def test_corrupt_weights_in_a_folder_are_reported(
    tiny_model_dir: Path, tmp_path: Path, tiny_request: GenerationRequest
) -> None:
    folder = copy_model(tiny_model_dir, tmp_path / "half-downloaded")
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    with pytest.raises(ModelError, match="corrupt or incomplete"):
        run(Engine(resolve=resolve_model, device="cpu"), tiny_request.replace(model=str(folder)))
    shutil.rmtree(folder / "vae")
    with pytest.raises(ModelError, match="incomplete"):
        run(Engine(resolve=resolve_model, device="cpu"), tiny_request.replace(model=str(folder)))


def test_missing_model_is_named(tmp_path: Path, tiny_request: GenerationRequest) -> None:
    with pytest.raises(ModelError, match="not found"):
        run(Engine(resolve=resolve_model, device="cpu"), tiny_request.replace(model=str(tmp_path / "gone")))
    ref = ModelRef("gone", tmp_path / "gone", ModelFormat.DIFFUSERS)
    with pytest.raises(ModelError, match="missing"):
        run(engine_for(ref), tiny_request)


def test_model_larger_than_free_ram_is_refused_up_front(
    tiny_model_dir: Path, tiny_request: GenerationRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loading, "available_ram", lambda: 1024 * 1024)
    engine = Engine(resolve=resolve_model, device="cpu")
    with pytest.raises(ModelError, match=r"needs about \d+ MB of memory to load, but only 1 MB is free"):
        run(engine, tiny_request)
    assert engine.loads == 0


def test_memory_estimate_counts_the_target_precision(tiny_model_dir: Path) -> None:
    import torch

    ref = resolve_model(str(tiny_model_dir))
    full = loading.plan_model(ref, torch.float32).need_bytes
    half = loading.plan_model(ref, torch.float16).need_bytes
    weights = sum(f.stat().st_size for f in tiny_model_dir.glob("*/*.safetensors"))
    assert half < full <= weights
    assert full > 0.9 * weights


def test_modes_share_one_load(tiny_request: GenerationRequest) -> None:
    engine = Engine(resolve=resolve_model, device="cpu")
    run(engine, tiny_request)
    run(engine, tiny_request.replace(mode=Mode.IMG2IMG, init_image=gradient()))
    run(engine, tiny_request.replace(mode=Mode.INPAINT, init_image=gradient(), mask=gradient().convert("L")))
    run(engine, tiny_request)
    assert engine.loads == 1
    engine.unload()
    assert engine.status().model_id is None and engine.status().tier is None
    run(engine, tiny_request)
    assert engine.loads == 2
