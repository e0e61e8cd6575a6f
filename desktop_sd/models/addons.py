"""Add-ons: LoRAs, textual-inversion embeddings and separate VAEs, listed, found by name, imported and removed.

Desktop SD keeps its own under ``<models dir>/loras``, ``/embeddings`` and
``/vae``; the folders of linked apps (``Registry.folders()``) are looked in too,
in place: AUTOMATIC1111's ``models/Lora``, ``models/LyCORIS``, ``embeddings``,
``models/VAE`` and ComfyUI's ``models/loras``, ``models/embeddings``,
``models/vae``. Each file is judged from its safetensors header only (no torch:
this runs on the GUI's side); a pickle (``.pt``, ``.bin``) embedding is listed
but never unpickled, so its family is unknown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from desktop_sd.core import paths
from desktop_sd.core.atomic import atomic_copy
from desktop_sd.core.errors import InputError, ModelError
from desktop_sd.core.loras import FAMILY_NAMES, is_lora, lora_family, lycoris_kind, trigger_words
from desktop_sd.core.request import Family
from desktop_sd.models import inspection
from desktop_sd.models.registry import Registry


class AddonKind(StrEnum):
    LORA = "lora"
    EMBEDDING = "embedding"
    VAE = "vae"


KIND_LABELS = {AddonKind.LORA: "LoRA", AddonKind.EMBEDDING: "embedding", AddonKind.VAE: "VAE"}
OWN_FOLDERS = {AddonKind.LORA: "loras", AddonKind.EMBEDDING: "embeddings", AddonKind.VAE: "vae"}
# Where other apps keep each kind, relative to the app's folder (or to its models folder).
LINKED_FOLDERS = {
    AddonKind.LORA: ("models/Lora", "models/LyCORIS", "models/loras"),
    AddonKind.EMBEDDING: ("embeddings", "models/embeddings"),
    AddonKind.VAE: ("models/VAE", "models/vae"),
}
SUFFIXES = {
    AddonKind.LORA: (".safetensors",),
    AddonKind.EMBEDDING: (".safetensors", ".pt", ".bin"),
    AddonKind.VAE: (".safetensors",),
}
MAX_DEPTH = 4


@dataclass(frozen=True)
class AddonFile:
    """One add-on on disk. ``name`` is the file's stem (what ``<lora:NAME:…>`` and the metadata use)."""

    name: str
    path: Path
    kind: AddonKind
    family: Family = Family.UNKNOWN
    size_bytes: int = 0
    owned: bool = True  # in Desktop SD's own folder (removing deletes it); else in a linked app's folder
    triggers: tuple[str, ...] = ()  # LoRA: training tags from ss_tag_frequency, most frequent first
    problem: str = ""  # why it cannot be used (e.g. a LyCORIS kind diffusers cannot load); "" when usable
    registry_id: str = ""  # downloaded from the catalog or the Hub: the model registry's id

    @property
    def family_label(self) -> str:
        return FAMILY_NAMES[self.family] if self.family is not Family.UNKNOWN else "unknown"


_cache: dict[tuple[str, int, int, AddonKind], AddonFile | None] = {}
_cache_lock = threading.Lock()


def own_folder(kind: AddonKind, models_root: Path | None = None) -> Path:
    """Desktop SD's own folder for ``kind`` (created if need be)."""
    folder = (models_root or paths.models_dir()) / OWN_FOLDERS[kind]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def linked_folders(kind: AddonKind, app_folders: list[Path]) -> list[Path]:
    """The folders of ``kind`` inside the linked apps' folders (each given as the app's folder or its models folder)."""
    found: list[Path] = []
    for folder in app_folders:
        bases = [folder, folder.parent] if folder.name.lower() == "models" else [folder]
        for base in bases:
            for sub in LINKED_FOLDERS[kind]:
                candidate = base / sub
                if candidate.is_dir() and candidate not in found:
                    found.append(candidate)
    return found


def linked_app_folders(models_root: Path | None = None) -> list[Path]:
    """The other apps' folders linked in the model registry (none when it cannot be read)."""
    try:
        return Registry(models_root).folders()
    except ModelError:
        return []


def _downloaded(kind: AddonKind, models_root: Path | None) -> list[AddonFile]:
    """Add-ons downloaded from the catalog or the Hub (recorded in the registry), named by their id."""
    try:
        installed = Registry(models_root).installed()
    except ModelError:
        return []
    found: list[AddonFile] = []
    for model in installed:
        if model.kind != str(kind) or not model.available:
            continue
        addon = _identify(model.path, kind, True)
        if addon is not None:
            family = addon.family if addon.family is not Family.UNKNOWN else model.family
            found.append(dataclasses.replace(addon, name=model.id, family=family, registry_id=model.id))
    return found


def find_addons(
    kind: AddonKind, models_root: Path | None = None, app_folders: list[Path] | None = None
) -> list[AddonFile]:
    """Every installed add-on of ``kind``: Desktop SD's own first, then the linked apps', each sorted by name.

    ``app_folders`` defaults to the folders linked in the model registry.
    """
    own = own_folder(kind, models_root)
    apps = linked_app_folders(models_root) if app_folders is None else app_folders
    folders = [(own, True)] + [(f, False) for f in linked_folders(kind, apps)]
    results: list[AddonFile] = []
    for folder, owned in folders:
        found = [a for a in (_identify(p, kind, owned) for p in _candidates(folder, kind)) if a is not None]
        results.extend(sorted(found, key=lambda a: a.name.lower()))
        if owned:
            results.extend(_downloaded(kind, models_root))
    return results


def _candidates(folder: Path, kind: AddonKind) -> list[Path]:
    out: list[Path] = []
    base = len(folder.parts)
    for current, dirs, files in os.walk(folder, followlinks=False):
        here = Path(current)
        if kind is AddonKind.VAE and (here / "config.json").is_file() and here != folder:
            out.append(here)  # a diffusers VAE folder
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if len(here.parts) - base < MAX_DEPTH else []
        out.extend(here / n for n in sorted(files) if n.lower().endswith(SUFFIXES[kind]))
    return out


def _identify(path: Path, kind: AddonKind, owned: bool) -> AddonFile | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns, kind)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    addon = describe(path, kind, owned)
    with _cache_lock:
        _cache[key] = addon
    return addon


def describe(path: Path, kind: AddonKind | None = None, owned: bool = True) -> AddonFile | None:
    """What ``path`` is, from its header alone; None when it is not an add-on of ``kind`` (or of any kind)."""
    if path.is_dir():
        weights = path / "diffusion_pytorch_model.safetensors"
        if kind in (None, AddonKind.VAE) and (path / "config.json").is_file() and weights.is_file():
            return AddonFile(path.name, path, AddonKind.VAE, Family.UNKNOWN, _size(weights), owned)
        return None
    if path.suffix.lower() != ".safetensors":
        if kind in (None, AddonKind.EMBEDDING) and path.suffix.lower() in (".pt", ".bin"):
            return AddonFile(path.stem, path, AddonKind.EMBEDDING, Family.UNKNOWN, _size(path), owned)
        return None
    try:
        header = inspection.read_header(path)
    except ModelError:
        return None  # corrupt or partial: not offered
    metadata = header.get("__metadata__")
    metadata = {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}
    shapes = {k: tuple(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    found = classify(shapes)
    if found is None or (kind is not None and found is not kind):
        return None
    size = _size(path)
    if found is AddonKind.LORA:
        lycoris = lycoris_kind(shapes)
        problem = f"a LyCORIS {lycoris} file, which cannot be loaded (only LoRA and LoCon can)" if lycoris else ""
        return AddonFile(path.stem, path, found, lora_family(shapes), size, owned, trigger_words(metadata), problem)
    if found is AddonKind.EMBEDDING:
        return AddonFile(path.stem, path, found, embedding_family(shapes), size, owned)
    return AddonFile(path.stem, path, found, Family.UNKNOWN, size, owned)


def classify(shapes: dict[str, tuple[int, ...]]) -> AddonKind | None:
    """LoRA, embedding or VAE, from tensor names; None for anything else (a checkpoint, a UNet...)."""
    if is_lora(shapes):
        return AddonKind.LORA
    if embedding_family(shapes) is not Family.UNKNOWN or "emb_params" in shapes:
        return AddonKind.EMBEDDING
    bare = {k.removeprefix("first_stage_model."): v for k, v in shapes.items()}  # some VAE files keep the prefix
    if inspection.detect_from_shapes(bare).kind == "vae":
        return AddonKind.VAE
    return None


def embedding_family(shapes: dict[str, tuple[int, ...]]) -> Family:
    """SD 1.x (768 wide), SD 2.x (1024) or SDXL (``clip_l`` + ``clip_g``) textual inversion."""
    if "clip_g" in shapes and "clip_l" in shapes:
        return Family.SDXL
    vectors = shapes.get("emb_params")
    if vectors is None and len(shapes) == 1:
        vectors = next(iter(shapes.values()))  # diffusers' {token: tensor}
    if vectors:
        return {768: Family.SD1, 1024: Family.SD2}.get(vectors[-1], Family.UNKNOWN)
    return Family.UNKNOWN


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def resolve_addon(kind: AddonKind, name: str, models_root: Path | None = None) -> AddonFile:
    """The installed add-on called ``name`` (a file stem, or a path to a file or folder).

    Exact names win over case-insensitive ones. Raises ``InputError`` naming the add-on and where to put it.
    """
    given = Path(name).expanduser()
    if (given.is_file() or given.is_dir()) and (os.sep in name or "/" in name or given.suffix):
        found = describe(given.resolve(), kind, owned=False)
        if found is None:
            raise InputError(f"{given.name} is not a {KIND_LABELS[kind]} file.")
        return found
    addons = find_addons(kind, models_root)
    exact = [a for a in addons if a.name == name] or [a for a in addons if a.name.lower() == name.lower()]
    if exact:
        return exact[0]
    folder = own_folder(kind, models_root)
    raise InputError(
        f"No {KIND_LABELS[kind]} named {name!r} is installed. Put the file in {folder} "
        "or import it in Models, then try again."
    )


def import_addon(source: Path, kind: AddonKind | None = None, models_root: Path | None = None) -> AddonFile:
    """Copy a LoRA, embedding or VAE file into Desktop SD's own folder for its kind (found from the file)."""
    found = describe(source, kind, owned=True)
    if found is None:
        what = KIND_LABELS[kind] if kind is not None else "LoRA, embedding or VAE"
        raise ModelError(f"{source.name} is not a {what} file Desktop SD can use.")
    folder = own_folder(found.kind, models_root)
    if source.is_dir():
        raise ModelError(f"{source.name} is a folder: import a single .safetensors {KIND_LABELS[found.kind]} file.")
    target = folder / source.name
    n = 2
    while target.exists():
        target, n = folder / f"{source.stem}-{n}{source.suffix}", n + 1
    try:
        atomic_copy(source, target, temp_path=target.with_name(target.name + ".incomplete"))
    except OSError as exc:
        raise ModelError(f"Could not copy {source.name} to {folder}: {exc.strerror or exc}.") from None
    added = describe(target, found.kind, owned=True)
    assert added is not None
    return added


def addon_path(kind: str, name: str) -> Path:
    """The engine's add-on finder: (``"lora"`` or ``"vae"``, name or path) -> the installed file or folder."""
    return resolve_addon(AddonKind(kind), name).path


def remove_addon(addon: AddonFile, models_root: Path | None = None) -> None:
    """Delete an add-on Desktop SD holds; one in another app's folder is left there (say so)."""
    if addon.registry_id:
        Registry(models_root).remove(addon.registry_id)
        return
    if not addon.owned:
        raise ModelError(
            f"{addon.path.name} lies in another app's folder ({addon.path.parent}); remove it there, or unlink "
            "that folder in Models."
        )
    with contextlib.suppress(FileNotFoundError):
        if addon.path.is_dir():
            shutil.rmtree(addon.path)
        else:
            addon.path.unlink()
