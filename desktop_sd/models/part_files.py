"""Finding the text encoders and VAE an SD 3 / Flux.1 transformer file lacks, as ComfyUI and Forge keep them.

Looked for, in this order: next to the file; in the ``text_encoders``, ``clip``, ``text_encoder`` and
``vae`` folders beside the file's own folder (ComfyUI's ``models/diffusion_models/x.safetensors`` has
its encoders in ``models/text_encoders``); in the same folders of each linked app (Models > Add-ons);
in Desktop SD's own ``<models>/text_encoders`` and ``<models>/vae``; and in the text encoders and
VAEs of the family downloaded from Models > Download (catalog kinds ``text_encoders`` and ``vae``).
Each candidate is judged from its safetensors header (``core.flow_parts``), never from its name alone,
except that a 16-channel VAE names its family in the file name when it is not Flux's ``ae.safetensors``;
a GGUF file by its architecture (T5's encoder, as ComfyUI-GGUF users keep it: ranked after fp16 and fp8).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from desktop_sd.core import flow_parts, paths
from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family
from desktop_sd.models.addons import linked_app_folders
from desktop_sd.models.inspection import read_header
from desktop_sd.models.registry import Registry

PART_FOLDERS = ("text_encoders", "clip", "text_encoder", "vae", "VAE")
OWN_PART_FOLDERS = ("text_encoders", "vae")
DOWNLOADED_KINDS = ("text_encoders", "vae")


@dataclass(frozen=True)
class PartSearch:
    """What was found for one transformer file: the files to load parts from, and what is still missing."""

    files: tuple[Path, ...]  # split files, each holding one part (the transformer file itself not included)
    missing: tuple[str, ...]  # required parts found nowhere (``flow_parts`` names)
    skipped: tuple[str, ...] = ()  # why some candidates were passed over, for the message


def _downloaded(family: Family) -> list[Path]:
    """Folders of the family's text encoders and VAEs downloaded from the catalog (a file's own folder)."""
    try:
        installed = Registry().installed()
    except ModelError:
        return []
    return [
        m.path if m.path.is_dir() else m.path.parent
        for m in installed
        if m.kind in DOWNLOADED_KINDS and m.family is family and m.available
    ]


def search_folders(path: Path, family: Family, app_folders: Iterable[Path] | None = None) -> list[Path]:
    """The folders looked in for the parts of the transformer file ``path``, nearest first."""
    apps = linked_app_folders() if app_folders is None else list(app_folders)
    folders = [path.parent]
    for root in (path.parent.parent, *apps, *(app / "models" for app in apps)):
        folders.extend(root / name for name in PART_FOLDERS)
    own = paths.models_dir()
    folders.extend(own / name for name in OWN_PART_FOLDERS)
    folders.extend(_downloaded(family))
    seen: set[Path] = set()
    unique: list[Path] = []
    for folder in folders:
        key = folder.resolve() if folder.exists() else folder
        if key not in seen and folder.is_dir():
            seen.add(key)
            unique.append(folder)
    return unique


def _candidates(folder: Path) -> list[Path]:
    try:
        files = [*folder.glob("*.safetensors"), *folder.glob("*/*.safetensors")]
        files += [*folder.glob("*.gguf"), *folder.glob("*/*.gguf")]
    except OSError:
        return []
    return sorted(f for f in files if f.is_file())


def _judge(candidate: Path) -> tuple[dict[str, str], int, bool]:
    """(parts the file holds, its precision rank, whether it is ComfyUI's scaled fp8); GGUF ranks last."""
    if candidate.suffix.lower() == ".gguf":
        part = flow_parts.gguf_part(flow_parts.gguf_architecture(candidate))
        return ({part: ""} if part else {}), 2, False
    try:
        header = read_header(candidate)
    except ModelError:
        return {}, 0, False  # a damaged file elsewhere in the folder is not this model's problem
    shapes = {k: tuple(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    held = flow_parts.parts_in(shapes, candidate.name)
    if flow_parts.VAE in held and flow_parts.vae_latent_channels(shapes, "") != 16:
        return {}, 0, False
    return held, _precision(header), flow_parts.scaled_fp8(shapes)


def _vae_fits(path: Path, family: Family) -> bool:
    """SD 3's and Flux's VAEs have the same shapes; which one a file is shows only in its name."""
    stem = path.stem.lower()
    flux_name = stem == "ae" or stem.startswith("ae.") or "flux" in stem
    sd3_name = "sd3" in stem or "sd35" in stem or "sd_3" in stem
    return flux_name if family is Family.FLUX else sd3_name and not flux_name


def _precision(header: dict[str, object]) -> int:
    """1 for an fp8 file (its norms stay fp16 or fp32: any 8-bit weight marks it), else 0: fp16 goes first."""
    dtypes = {str(e.get("dtype")) for name, e in header.items() if name != "__metadata__" and isinstance(e, dict)}
    return 1 if any(d.startswith("F8") for d in dtypes) else 0


def find_parts(path: Path, family: Family, own: Iterable[str], app_folders: Iterable[Path] | None = None) -> PartSearch:
    """Split files for the parts of ``family`` that the file ``path`` does not hold itself (``own``)."""
    wanted = [p for p in (*flow_parts.REQUIRED[family], *flow_parts.OPTIONAL[family]) if p not in own]
    chosen: dict[str, tuple[int, int, Path]] = {}
    skipped: list[str] = []
    for rank, folder in enumerate(search_folders(path, family, app_folders)):
        for candidate in _candidates(folder):
            if candidate.resolve() == path.resolve():
                continue
            held, precision, scaled = _judge(candidate)
            if len(held) != 1:
                continue
            (part,) = held
            if part not in wanted:
                continue
            if scaled:
                skipped.append(f'{candidate.name} is a ComfyUI "scaled fp8" file, which only ComfyUI can run')
                continue
            if part == flow_parts.VAE and not _vae_fits(candidate, family):
                continue
            key = (rank, precision, candidate)
            if part not in chosen or key < chosen[part]:
                chosen[part] = key
    missing = tuple(p for p in flow_parts.REQUIRED[family] if p not in own and p not in chosen)
    files = tuple(dict.fromkeys(entry[2] for entry in chosen.values()))
    return PartSearch(files, missing, tuple(skipped))
