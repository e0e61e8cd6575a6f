"""Importing files and folders, in place or copied; damaged files; pickle checkpoints converted safely."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import struct
import time
from pathlib import Path

import pytest

from desktop_sd.core import paths
from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, ModelFormat
from desktop_sd.models.importer import import_path
from desktop_sd.models.registry import Registry
from desktop_sd.models.resolve import resolve_model
from tests.models.builders import checkpoint_tensors, make_checkpoint, make_lora, make_sparse_checkpoint, truncate


def test_safetensors_in_place_and_copied(tmp_path: Path) -> None:
    source = make_checkpoint(tmp_path / "Mine.safetensors", Family.SDXL)
    (in_place,) = import_path(source, copy=False, registry=Registry())
    assert in_place.path == source and not in_place.owned
    (copied,) = import_path(source, copy=True, registry=Registry())
    assert copied.path.parent == paths.models_dir() / "imported"
    assert copied.path.read_bytes() == source.read_bytes()
    assert copied.owned and copied.id == in_place.id  # importing again with a copy replaces the in-place entry
    assert [m.path for m in Registry().installed()] == [copied.path]
    assert not list(copied.path.parent.glob("*.incomplete"))
    Registry().remove(copied.id)
    assert not copied.path.exists() and source.exists()


@pytest.mark.parametrize("damage", ["truncated", "header longer than file", "overlapping"])
def test_damaged_safetensors_is_refused_at_once(tmp_path: Path, damage: str) -> None:
    path = make_checkpoint(tmp_path / "bad.safetensors")
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        truncate(path)
    elif damage == "header longer than file":
        data[0:8] = (len(data) * 2).to_bytes(8, "little")
        path.write_bytes(bytes(data))
    else:
        header_len = int.from_bytes(data[0:8], "little")
        header = data[8 : 8 + header_len].decode()
        first = header.index('"data_offsets":[') + len('"data_offsets":[')
        end = header.index("]", first)
        second = header.index('"data_offsets":[', end) + len('"data_offsets":[')
        end2 = header.index("]", second)
        c, d = (int(x) for x in header[second:end2].split(","))
        new = f"{c},{d}".ljust(end - first)  # point the first tensor at the second's bytes
        header = header[:first] + new + header[end:]
        data[8 : 8 + header_len] = header.encode()
        path.write_bytes(bytes(data))
    start = time.monotonic()
    with pytest.raises(ModelError, match="corrupt or incomplete"):
        import_path(path, copy=True, registry=Registry())
    assert time.monotonic() - start < 1.0
    assert Registry().installed() == []
    assert not (paths.models_dir() / "imported").exists() or not any((paths.models_dir() / "imported").iterdir())


def test_addons_are_not_taken_for_models(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a whole Stable Diffusion model"):
        import_path(make_lora(tmp_path / "style.safetensors"), copy=False, registry=Registry())
    with pytest.raises(ModelError, match="does not exist"):
        import_path(tmp_path / "nothing.safetensors", copy=False, registry=Registry())


def test_diffusers_folder_in_place_and_copied(tiny_model_dir: Path, tmp_path: Path) -> None:
    (in_place,) = import_path(tiny_model_dir, copy=False, registry=Registry())
    assert in_place.path == tiny_model_dir and in_place.format is ModelFormat.DIFFUSERS
    (copied,) = import_path(tiny_model_dir, copy=True, registry=Registry())
    assert (copied.path / "unet" / "config.json").read_bytes() == (tiny_model_dir / "unet" / "config.json").read_bytes()
    assert resolve_model(copied.id).path == copied.path
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    for weights in (broken / "unet").glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(ModelError, match="incomplete diffusers model"):
        import_path(broken, copy=False, registry=Registry())


def _save_ckpt(path: Path, payload: object) -> Path:
    import torch

    torch.save(payload, path)
    return path


def _sd1_state() -> dict[str, object]:
    import torch

    return {k: torch.from_numpy(v.astype("float32")) for k, v in checkpoint_tensors().items()}


def test_pickle_checkpoint_is_converted_once_and_the_original_kept(tmp_path: Path) -> None:
    import torch

    state = _sd1_state()
    source = _save_ckpt(tmp_path / "legit.ckpt", {"state_dict": state, "global_step": 470000})
    before = source.read_bytes()
    (model,) = import_path(source, copy=False, registry=Registry())
    assert model.source == "converted" and model.family is Family.SD1
    assert model.path.suffix == ".safetensors" and model.path.parent == paths.models_dir() / "converted"
    assert source.read_bytes() == before
    from safetensors.torch import load_file

    loaded = load_file(str(model.path))
    assert set(loaded) == set(state) and all(torch.equal(loaded[k], state[k]) for k in state)  # type: ignore[arg-type]
    (again,) = import_path(source, copy=False, registry=Registry())
    assert again.id == model.id and len(list(model.path.parent.iterdir())) == 1  # converted once
    assert resolve_model(model.id).format is ModelFormat.SINGLE_FILE


class _Shell:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


@pytest.fixture
def convert_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the converter in this process (the child-process path is covered by the tests above and below)."""
    from desktop_sd.engine import pickle_to_safetensors
    from desktop_sd.models import converter_process

    def convert(src: Path, dst: Path, timeout: float = 0) -> None:
        try:
            pickle_to_safetensors.convert(src, dst)
        except pickle_to_safetensors.ConversionError as exc:
            raise ModelError(str(exc)) from None

    monkeypatch.setattr(converter_process, "convert_in_child", convert)


def test_malicious_pickle_in_a_child_process_runs_nothing(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    source = _save_ckpt(tmp_path / "evil.ckpt", {"state_dict": _sd1_state(), "hook": _Shell(f"touch {sentinel}")})
    with pytest.raises(ModelError, match=r"asks to run code.*Nothing from it was run"):
        import_path(source, copy=False, registry=Registry())
    assert not sentinel.exists()
    assert Registry().installed() == []
    converted = paths.models_dir() / "converted"
    assert not converted.exists() or not any(converted.iterdir())


@pytest.mark.usefixtures("convert_in_process")
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_raw_pickle_payload_runs_nothing(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    source = tmp_path / "evil.ckpt"
    source.write_bytes(pickle.dumps(_Shell(f"touch {sentinel}")))
    with pytest.raises(ModelError, match="asks to run code"):
        import_path(source, copy=False, registry=Registry())
    assert not sentinel.exists()
    assert Registry().installed() == []


@pytest.mark.usefixtures("convert_in_process")
def test_pickle_needing_other_classes_is_refused_with_the_reason(tmp_path: Path) -> None:
    import argparse

    source = _save_ckpt(tmp_path / "lightning.ckpt", {"state_dict": _sd1_state(), "hparams": argparse.Namespace(lr=1)})
    with pytest.raises(ModelError, match=r"argparse\.Namespace"):
        import_path(source, copy=False, registry=Registry())


@pytest.mark.usefixtures("convert_in_process")
def test_converted_checkpoint_is_still_checked_for_a_whole_model(tmp_path: Path) -> None:
    import torch

    source = _save_ckpt(tmp_path / "vae.ckpt", {"state_dict": {"encoder.down.0.block.0.conv1.weight": torch.zeros(2)}})
    with pytest.raises(ModelError, match="VAE"):
        import_path(source, copy=False, registry=Registry())
    assert not any((paths.models_dir() / "converted").iterdir())


@pytest.mark.usefixtures("convert_in_process")
@pytest.mark.parametrize("key", ["state_dict", "weights"])
def test_a_checkpoint_that_is_no_model_is_named_by_the_users_file(tmp_path: Path, key: str) -> None:
    import torch

    source = _save_ckpt(tmp_path / "notes.ckpt", {key: {"encoder.down.0.block.0.conv1.weight": torch.zeros(2)}})
    with pytest.raises(ModelError) as caught:
        import_path(source, copy=False, registry=Registry())
    assert str(caught.value).startswith("notes.ckpt ") and ".safetensors" not in str(caught.value)
    assert not any((paths.models_dir() / "converted").iterdir())


def test_a_file_claiming_more_weights_than_memory_is_refused_before_copying(tmp_path: Path) -> None:
    import psutil

    memory = psutil.virtual_memory().total + psutil.swap_memory().total
    path = make_sparse_checkpoint(tmp_path / "huge.safetensors", 2 * memory)
    started = time.monotonic()
    with pytest.raises(ModelError, match="more than this computer's memory") as caught:
        import_path(path, copy=True, registry=Registry())
    assert time.monotonic() - started < 1.0
    assert "huge.safetensors" in str(caught.value) and "damaged" in str(caught.value)
    assert Registry().installed() == []
    assert not (paths.models_dir() / "imported").exists() or not any((paths.models_dir() / "imported").iterdir())


def test_a_tensor_with_a_negative_dimension_is_refused_at_import(tmp_path: Path) -> None:
    path = make_checkpoint(tmp_path / "odd.safetensors")
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    name = next(k for k, v in header.items() if k != "__metadata__" and len(v["shape"]) >= 2)
    header[name]["shape"] = [-v for v in header[name]["shape"][:2]] + header[name]["shape"][2:]  # same byte count
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8").ljust(length)
    assert len(raw) == length
    path.write_bytes(data[:8] + raw + data[8 + length :])
    with pytest.raises(ModelError, match=r"corrupt or incomplete.*negative"):
        import_path(path, copy=False, registry=Registry())
    assert Registry().installed() == []
