"""The registry: records, removal rules, the default model, other tools' caches and app folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from desktop_sd.core import paths
from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, ModelFormat
from desktop_sd.models.registry import Registry
from desktop_sd.models.resolve import resolve_model
from tests.models.builders import make_checkpoint, make_lora, put_in_hf_cache, truncate


def test_records_survive_a_new_registry_and_owned_files_are_deleted_on_remove(tmp_path: Path) -> None:
    owned = make_checkpoint(paths.models_dir() / "downloads" / "a.safetensors")
    in_place = make_checkpoint(tmp_path / "mine" / "b.safetensors", Family.SD2)
    registry = Registry()
    a = registry.add(id_hint="a", name="A", path=owned, source="url", family=Family.SD1, inpainting=False, owned=True)
    b = registry.add(id_hint="b", name="B", path=in_place, source="import", family=Family.SD2, inpainting=False)
    listed = Registry().installed()
    assert [(m.id, m.family, m.size_bytes > 0, m.available) for m in listed] == [
        ("a", Family.SD1, True, True),
        ("b", Family.SD2, True, True),
    ]
    Registry().remove(a.id)
    Registry().remove(b.id)
    assert not owned.exists()
    assert in_place.exists()  # the user's own file is only forgotten
    assert Registry().installed() == []


def test_same_install_twice_is_one_record_and_clashing_ids_get_a_suffix(tmp_path: Path) -> None:
    registry = Registry()
    first = make_checkpoint(tmp_path / "one" / "model.safetensors")
    second = make_checkpoint(tmp_path / "two" / "model.safetensors")
    kwargs = {"name": "m", "source": "import", "family": Family.SD1, "inpainting": False}
    a = registry.add(id_hint="model", path=first, origin=str(first), **kwargs)  # type: ignore[arg-type]
    again = registry.add(id_hint="model", path=first, origin=str(first), **kwargs)  # type: ignore[arg-type]
    b = registry.add(id_hint="model", path=second, origin=str(second), **kwargs)  # type: ignore[arg-type]
    assert (a.id, again.id, b.id) == ("model", "model", "model-2")
    assert len(registry.installed()) == 2


def test_default_model_falls_back_and_follows_removal(tmp_path: Path) -> None:
    registry = Registry()
    assert registry.default_model_id() is None
    kwargs = {"source": "import", "family": Family.SD1, "inpainting": False}
    registry.add(id_hint="a", name="a", path=make_checkpoint(tmp_path / "a.safetensors"), **kwargs)  # type: ignore[arg-type]
    registry.add(id_hint="b", name="b", path=make_checkpoint(tmp_path / "b.safetensors"), **kwargs)  # type: ignore[arg-type]
    assert registry.default_model_id() == "a"
    registry.set_default("b")
    assert Registry().default_model_id() == "b"
    registry.remove("b")
    assert registry.default_model_id() == "a"
    with pytest.raises(ModelError, match="no installed model 'zzz'"):
        registry.set_default("zzz")


def test_missing_files_are_shown_not_hidden_and_say_what_to_do(tmp_path: Path) -> None:
    path = make_checkpoint(tmp_path / "gone.safetensors")
    Registry().add(id_hint="gone", name="gone", path=path, source="import", family=Family.SD1, inpainting=False)
    path.unlink()
    (model,) = Registry().installed()
    assert not model.available
    with pytest.raises(ModelError, match="missing"):
        resolve_model("gone")


def test_other_tools_hub_downloads_are_listed_and_only_hidden_on_remove(tiny_model_dir: Path) -> None:
    snapshot = put_in_hf_cache("someone/tiny", tiny_model_dir)
    (model,) = Registry().installed()
    assert (model.id, model.source, model.path) == ("someone/tiny", "hf-cache", snapshot)
    assert resolve_model("someone/tiny").format is ModelFormat.DIFFUSERS
    Registry().remove("someone/tiny")
    assert Registry().installed() == []
    assert snapshot.is_dir()  # another tool's download is never deleted


def test_half_filled_snapshot_of_another_tool_is_not_listed(tiny_model_dir: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(tiny_model_dir, partial)
    shutil.rmtree(partial / "vae")
    put_in_hf_cache("someone/partial", partial)
    assert Registry().installed() == []


def test_corrupt_registry_file_is_moved_aside(tmp_path: Path) -> None:
    registry = Registry()
    registry.file.parent.mkdir(parents=True, exist_ok=True)
    registry.file.write_text("{not json", encoding="utf-8")
    assert registry.installed() == []
    kept = list(registry.file.parent.glob("registry.json.corrupt-*"))
    assert [p.read_text(encoding="utf-8") for p in kept] == ["{not json"]
    registry.add(
        id_hint="x",
        name="x",
        path=make_checkpoint(tmp_path / "x.safetensors"),
        source="import",
        family=Family.SD1,
        inpainting=False,
    )
    assert [m.id for m in registry.installed()] == ["x"]


@pytest.mark.parametrize(
    "layout",
    ["models/Stable-diffusion", "models/checkpoints", "models/sdxl/main"],
    ids=["automatic1111", "comfyui", "invokeai"],
)
def test_other_apps_model_folders_are_used_in_place(tmp_path: Path, layout: str, tiny_model_dir: Path) -> None:
    app = tmp_path / "app"
    checkpoints = app / layout
    make_checkpoint(checkpoints / "Dream Model.safetensors")
    make_checkpoint(checkpoints / "sub" / "inpaint.safetensors", inpainting=True)
    shutil.copytree(tiny_model_dir, checkpoints / "diffusers-model")
    make_lora(app / "models" / "Lora" / "style.safetensors")
    make_lora(checkpoints / "a-lora-in-the-wrong-place.safetensors")
    truncate(make_checkpoint(checkpoints / "half-copied.safetensors"))
    found = Registry().add_folder(app)
    assert sorted((m.id, m.inpainting) for m in found) == [
        ("Dream-Model", False),
        ("diffusers-model", False),
        ("inpaint", True),
    ]
    assert {m.source for m in Registry().installed()} == {"folder"}
    ref = resolve_model("Dream-Model")
    assert ref.path == checkpoints / "Dream Model.safetensors" and ref.config_dir is not None
    Registry().remove("Dream-Model")
    assert (checkpoints / "Dream Model.safetensors").exists()
    assert "Dream-Model" not in [m.id for m in Registry().installed()]


def test_folder_without_models_is_refused_clearly(tmp_path: Path) -> None:
    make_lora(tmp_path / "loras" / "x.safetensors")
    with pytest.raises(ModelError, match="No Stable Diffusion models were found"):
        Registry().add_folder(tmp_path)


def _write_registry(text: str) -> Path:
    file = paths.models_dir() / "registry.json"
    file.write_text(text, encoding="utf-8")
    return file


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"folders": 5}',
        '{"models": {"id": "x"}}',
        '{"models": [{"id": "x"}]}',
        '{"models": [{"id": "x", "path": 7}]}',
        '{"models": [{"id": 3, "path": "/x"}]}',
        '{"models": [{"id": "x", "path": "/x", "family": "sd99"}]}',
        '{"hidden": [1, 2], "default": 5}',
        "[" * 100_000,
        "garbage {",
    ],
)
def test_a_registry_of_the_wrong_shape_is_kept_aside_rebuilt_and_reported(text: str) -> None:
    file = _write_registry(text)
    own = make_checkpoint(paths.models_dir() / "imported" / "mine.safetensors")
    registry = Registry()
    models = registry.installed()
    assert [(m.path, m.owned, m.family) for m in models] == [(own, True, Family.SD1)]  # found again in our folder
    assert registry.notice is not None and "registry.json" in registry.notice and "kept" in registry.notice
    kept = list(file.parent.glob("registry.json.corrupt-*"))
    assert [p.read_text(encoding="utf-8") for p in kept] == [text]
    assert registry.default_model_id() == models[0].id
    again = Registry()
    assert [m.path for m in again.installed()] == [own] and again.notice is None  # repaired once, told once


def test_good_entries_beside_bad_ones_are_kept(tmp_path: Path) -> None:
    good = make_checkpoint(tmp_path / "good.safetensors")
    registry = Registry()
    registry.add(id_hint="good", name="Good", path=good, source="import", family=Family.SD1, inpainting=False)
    file = paths.models_dir() / "registry.json"
    data = json.loads(file.read_text(encoding="utf-8"))
    data["models"].append({"id": "bad", "path": 12})
    file.write_text(json.dumps(data), encoding="utf-8")
    again = Registry()
    assert [m.id for m in again.installed()] == ["good"]
    assert again.notice is not None and "1 entry" in again.notice


def test_models_list_notes_a_damaged_registry_once(capsys: pytest.CaptureFixture[str]) -> None:
    _write_registry('{"models": [{"id": "x"}]}')
    from desktop_sd.cli import main

    assert main(["models", "list"]) == 0
    err = capsys.readouterr().err
    assert err.count("note: The models registry") == 1 and "Traceback" not in err


def test_a_full_disk_while_recording_says_so_and_keeps_the_previous_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    registry = Registry()
    kwargs = {"source": "import", "family": Family.SD1, "inpainting": False}
    registry.add(id_hint="a", name="a", path=make_checkpoint(tmp_path / "a.safetensors"), **kwargs)  # type: ignore[arg-type]
    before = registry.file.read_bytes()

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", full)
        with pytest.raises(ModelError, match=r"the disk is full.*previous list was kept"):
            registry.add(id_hint="b", name="b", path=make_checkpoint(tmp_path / "b.safetensors"), **kwargs)  # type: ignore[arg-type]
    assert registry.file.read_bytes() == before


def test_a_damaged_registry_that_cannot_be_written_back_still_lists_what_it_can(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write_registry('{"models": [{"id": "x"}]}')
    own = make_checkpoint(paths.models_dir() / "imported" / "mine.safetensors")

    def read_only(*_args: object, **_kwargs: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("desktop_sd.models.registry.atomic_write_bytes", read_only)
    registry = Registry()
    assert [m.path for m in registry.installed()] == [own]
    assert registry.notice is not None
    assert (paths.models_dir() / "registry.json").read_text(encoding="utf-8") == '{"models": [{"id": "x"}]}'
