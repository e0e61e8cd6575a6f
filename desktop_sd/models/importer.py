"""Importing models the user already has: a ``.safetensors`` file, a diffusers folder, a ``.ckpt``,
or the model folder of another app (AUTOMATIC1111, ComfyUI, InvokeAI).

Files are used in place unless the user asks for a copy; a copy is written
to a temp name and renamed when complete, after a free-space check. A
``.ckpt`` is always converted to a new ``.safetensors`` in our models folder
(the original is left as it is).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from desktop_sd.core import paths
from desktop_sd.core.atomic import atomic_copy
from desktop_sd.core.errors import Cancelled, ModelError
from desktop_sd.core.model_files import PICKLE_SUFFIXES, check_fits_memory
from desktop_sd.models import converter_process, hub, inspection, transfer
from desktop_sd.models.registry import InstalledModel, Registry, slug
from desktop_sd.models.transfer import ByteSink

CHUNK = 4 << 20


def import_path(
    path: Path,
    *,
    copy: bool,
    registry: Registry,
    sink: ByteSink | None = None,
    cancelled: threading.Event | None = None,
) -> list[InstalledModel]:
    """Install what ``path`` holds; returns the models now available from it."""
    path = path.expanduser()
    if not path.exists():
        raise ModelError(f"{path} does not exist. Check the path and try again.")
    path = path.resolve()
    cancelled = cancelled or threading.Event()
    if path.is_dir():
        if (path / "model_index.json").is_file():
            return [_import_diffusers(path, copy, registry, sink, cancelled)]
        return registry.add_folder(path)
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        return [_import_pickle(path, registry)]
    if suffix != ".safetensors":
        raise ModelError(f"{path.name} is not a model file Desktop SD can import (use .safetensors or .ckpt).")
    return [_import_safetensors(path, copy, registry, sink, cancelled)]


def _check_whole_model(path: Path, shown: Path | None = None) -> inspection.CheckpointInfo:
    """The checkpoint's family, or a ``ModelError``; messages name ``shown`` (the user's file, when ``path``
    is the one converted from it)."""
    name = (shown or path).name
    try:
        info = inspection.detect(path)  # raises "corrupt or incomplete" at once for damaged files
        check_fits_memory(path)
    except ModelError as exc:
        if shown is None:
            raise
        raise ModelError(str(exc).replace(path.name, name)) from None
    if info.kind != "checkpoint":
        what = {"vae": "a VAE", "taesd": "a tiny preview autoencoder", "unet": "a UNet alone"}.get(
            info.kind, "not a whole Stable Diffusion model (a LoRA or an embedding?)"
        )
        raise ModelError(f"{name} is {what}; import a whole model checkpoint instead.")
    return info


def _import_safetensors(
    path: Path, copy: bool, registry: Registry, sink: ByteSink | None, cancelled: threading.Event
) -> InstalledModel:
    info = _check_whole_model(path)
    existing = registry.find_by_origin(str(path))
    if existing is not None and existing.available and (existing.owned == copy):
        return existing
    target = path
    if copy:
        target = _free_name(paths.models_dir() / "imported", path.name)
        _copy_file(path, target, sink, cancelled)
    return registry.add(
        id_hint=slug(path.stem),
        name=path.stem,
        path=target,
        source="import",
        family=info.family,
        inpainting=info.inpainting,
        origin=str(path),
        owned=copy,
    )


def _import_diffusers(
    folder: Path, copy: bool, registry: Registry, sink: ByteSink | None, cancelled: threading.Event
) -> InstalledModel:
    if not hub.pipeline_complete(folder):
        raise ModelError(
            f"{folder} is an incomplete diffusers model: a component named in its model_index.json "
            "is missing its config or weights."
        )
    family, inpainting = inspection.describe_folder(folder)
    existing = registry.find_by_origin(str(folder))
    if existing is not None and existing.available and existing.owned == copy:
        return existing
    target = folder
    if copy:
        target = _free_name(paths.models_dir() / "imported", folder.name)
        _copy_tree(folder, target, sink, cancelled)
    return registry.add(
        id_hint=slug(folder.name),
        name=folder.name,
        path=target,
        source="import",
        family=family,
        inpainting=inpainting,
        origin=str(folder),
        owned=copy,
    )


def _import_pickle(path: Path, registry: Registry) -> InstalledModel:
    existing = registry.find_by_origin(str(path))
    if existing is not None and existing.available:
        return existing
    target = _free_name(paths.models_dir() / "converted", path.stem + ".safetensors")
    transfer.check_free_space(target.parent, path.stat().st_size, path.name)
    converter_process.convert_in_child(path, target)
    try:
        info = _check_whole_model(target, shown=path)
    except ModelError:
        target.unlink(missing_ok=True)
        raise
    return registry.add(
        id_hint=slug(path.stem),
        name=path.stem,
        path=target,
        source="converted",
        family=info.family,
        inpainting=info.inpainting,
        origin=str(path),
        owned=True,
    )


def _free_name(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    candidate, stem, suffix, n = folder / name, Path(name).stem, Path(name).suffix, 2
    while candidate.exists():
        candidate, n = folder / f"{stem}-{n}{suffix}", n + 1
    return candidate


def _copy_file(src: Path, dst: Path, sink: ByteSink | None, cancelled: threading.Event) -> None:
    transfer.check_free_space(dst.parent, src.stat().st_size, src.name)
    tmp = dst.with_name(dst.name + ".incomplete")
    tmp.unlink(missing_ok=True)  # left by an import that was killed

    def on_block(size: int) -> None:
        if sink is not None:
            sink.received(size)
        if cancelled.is_set():
            raise Cancelled("Import cancelled.")

    try:
        atomic_copy(src, dst, temp_path=tmp, on_block=on_block, chunk=CHUNK)
    except OSError as exc:
        raise ModelError(f"Could not copy {src.name} to {dst.parent}: {exc.strerror or exc}.") from None


def _copy_tree(src: Path, dst: Path, sink: ByteSink | None, cancelled: threading.Event) -> None:
    files = [p for p in src.rglob("*") if p.is_file()]
    transfer.check_free_space(dst.parent, sum(p.stat().st_size for p in files), src.name)
    tmp = dst.with_name(dst.name + ".incomplete")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        for file in files:
            target = tmp / file.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy_file(file, target, sink, cancelled)
        os.replace(tmp, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
