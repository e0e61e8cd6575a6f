"""The installed models: what was downloaded or imported, what other tools left in the Hub cache,
and what lies in the model folders of other apps the user pointed us at.

The record of our own installs is ``<models dir>/registry.json`` (written
atomically, under a file lock). Models downloaded from the Hub are recorded by
repo and file names, not paths, so they follow ``HF_HOME`` if it moves.
Removing a model deletes only files Desktop SD put there; models used in place
(imports without copy, other apps' folders, other tools' Hub downloads) are
only forgotten.

A registry that cannot be read, or is of the wrong shape, is kept aside under
a name of its own; what was usable in it is kept, the models in Desktop SD's
own folder are found again, and ``Registry.notice`` says what happened (once:
the repaired file is written back at once).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock

from desktop_sd.core import paths
from desktop_sd.core.aside import copy_aside
from desktop_sd.core.atomic import atomic_write_bytes
from desktop_sd.core.disk_errors import describe_os_error
from desktop_sd.core.errors import ModelError
from desktop_sd.core.request import Family, ModelFormat, ModelRef
from desktop_sd.models import hfcache, hub, scan
from desktop_sd.models.inspection import config_dir_for

log = logging.getLogger(__name__)

SOURCE_LABELS = {
    "catalog": "downloaded",
    "hub": "downloaded from the Hub",
    "url": "downloaded from a URL",
    "import": "imported",
    "converted": "converted from .ckpt",
    "folder": "in another app's folder",
    "hf-cache": "in the Hugging Face cache",
}


@dataclass(frozen=True)
class InstalledModel:
    id: str
    name: str
    family: Family
    inpainting: bool
    path: Path
    size_bytes: int
    source: str  # a key of SOURCE_LABELS
    kind: str = "checkpoint"  # or "taesd"
    origin: str = ""  # repo id, URL or original file
    owned: bool = False  # removing it deletes its files
    available: bool = True  # its files are there

    @property
    def format(self) -> ModelFormat:
        return ModelFormat.DIFFUSERS if self.path.is_dir() else ModelFormat.SINGLE_FILE

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)

    def ref(self) -> ModelRef:
        if not self.available:
            raise ModelError(
                f"The files of model {self.id!r} are missing ({self.path}). Remove it in Models and install it again."
            )
        if self.kind != "checkpoint":
            kinds = {"vae": "a VAE", "lora": "a LoRA", "embedding": "an embedding"}
            kinds["text_encoders"] = "a set of text encoders"
            what = kinds.get(self.kind, "a preview autoencoder")
            raise ModelError(f"{self.name} is {what}, not a model that makes images.")
        config = config_dir_for(self.family, self.inpainting) if self.format is ModelFormat.SINGLE_FILE else None
        return ModelRef(self.id, self.path, self.format, self.family, self.inpainting, config)


@dataclass
class _Data:
    models: list[dict[str, Any]] = field(default_factory=list)
    default: str | None = None
    folders: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    value = re.sub(r"[^\w.\-]+", "-", text).strip("-.")
    return value or "model"


def path_size(path: Path) -> int:
    try:
        if path.is_file():
            return path.stat().st_size
        if path.is_dir():
            return hfcache.snapshot_size(path)
    except OSError:
        pass
    return 0


class Registry:
    """Installed models; safe to use from several threads and processes."""

    _thread_lock = threading.RLock()

    def __init__(self, root: Path | None = None, on_notice: Callable[[str], None] | None = None) -> None:
        """``on_notice(text)`` hears when the file was found damaged and repaired (also kept in ``notice``)."""
        self.root = root or paths.models_dir()
        self.file = self.root / "registry.json"
        self.notice: str | None = None
        self._on_notice = on_notice

    # ---- storage -----------------------------------------------------------------------

    def _parse(self) -> tuple[_Data, list[str]]:
        """The registry file as found, and what is wrong with it (empty when nothing)."""
        try:
            text = self.file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _Data(), []
        except (OSError, UnicodeDecodeError) as exc:
            return _Data(), [f"it could not be read: {exc}"]
        try:
            raw = json.loads(text)
        except RecursionError:
            return _Data(), ["it is too deeply nested"]
        except ValueError as exc:
            return _Data(), [f"it is not valid JSON: {exc}"]
        return _clean(raw)

    def _read(self) -> _Data:
        """The registry's data; a damaged file is repaired first (see the module docstring)."""
        with self._thread_lock:
            data, problems = self._parse()
            if not problems:
                return data
            try:
                with self._editing() as data:  # parses again under the file lock: another process may have fixed it
                    pass
            except ModelError as exc:  # a read-only folder: list what could be saved all the same
                log.warning("The repaired models registry could not be written back: %s", exc)
            return data

    def _repair(self, data: _Data, problems: list[str]) -> _Data:
        """Keep the damaged file aside, find our own models again, and say so in ``notice``."""
        try:
            kept = f"the file found was kept as {copy_aside(self.file, 'corrupt')}"
        except OSError as exc:
            kept = f"the file found could not be kept aside ({exc.strerror or exc})"
        recorded = {r["path"] for r in data.models}
        taken = {r["id"] for r in data.models}
        found = 0
        for item in scan.find_models(self.root):
            if str(item.path) in recorded:
                continue
            name = item.path.stem if item.kind == "checkpoint" else item.path.name
            model_id, n = slug(name), 2
            while model_id in taken:
                model_id, n = f"{slug(name)}-{n}", n + 1
            taken.add(model_id)
            record: dict[str, Any] = {"id": model_id, "name": name, "path": str(item.path), "source": "import"}
            record.update(family=str(item.family), inpainting=item.inpainting, origin=str(item.path), owned=True)
            data.models.append(record)
            found += 1
        again = f" {found} model{'' if found == 1 else 's'} in {self.root} found again." if found else ""
        self.notice = f"The models registry {self.file} was damaged ({'; '.join(problems)}); {kept}.{again}"
        log.info("%s", self.notice)  # the caller shows the notice; this is for the log file
        if self._on_notice is not None:
            self._on_notice(self.notice)
        return data

    def _write(self, data: _Data) -> None:
        payload = {"version": 1, **data.__dict__}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.file, json.dumps(payload, indent=2).encode("utf-8"))
        except OSError as exc:
            raise ModelError(
                f"Could not save the list of installed models in {self.file}: {describe_os_error(exc)} "
                "The previous list was kept."
            ) from exc

    @contextlib.contextmanager
    def _editing(self) -> Iterator[_Data]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelError(f"Could not create the models folder {self.root}: {describe_os_error(exc)}") from exc
        with self._thread_lock, filelock.FileLock(str(self.file) + ".lock", timeout=30):
            data, problems = self._parse()
            if problems:
                data = self._repair(data, problems)
            yield data
            self._write(data)

    # ---- listing -----------------------------------------------------------------------

    def _from_record(self, record: dict[str, Any]) -> InstalledModel:
        path = Path(record["path"])
        repo_id = record.get("repo_id")
        if repo_id and record.get("source") in ("catalog", "hub"):
            snapshot = hfcache.snapshot_path(repo_id, record.get("commit") or record.get("revision", "main"))
            if snapshot is not None:
                path = snapshot / record["file"] if record.get("file") else snapshot
        available = path.exists()
        return InstalledModel(
            id=record["id"],
            name=record.get("name") or record["id"],
            family=Family(record.get("family", "unknown")),
            inpainting=bool(record.get("inpainting", False)),
            path=path,
            size_bytes=path_size(path) if available else 0,
            source=record.get("source", "import"),
            kind=record.get("kind", "checkpoint"),
            origin=record.get("origin", ""),
            owned=bool(record.get("owned", False)),
            available=available,
        )

    def installed(self) -> list[InstalledModel]:
        """Every model available: recorded installs first, then other tools' Hub downloads, then app folders."""
        with self._thread_lock:
            data = self._read()
        models = [self._from_record(r) for r in data.models]
        taken = {m.id for m in models}
        known_paths = {m.path for m in models}
        recorded_repos = {r["repo_id"] for r in data.models if r.get("repo_id") and not r.get("file")}
        hidden = set(data.hidden)
        for extra in self._hf_cache_models(recorded_repos) + self._folder_models(data.folders):
            if extra.id in hidden or str(extra.path) in hidden or extra.path in known_paths:
                continue
            model_id = extra.id
            if model_id in taken:
                model_id = f"{model_id}-{hashlib.sha1(str(extra.path).encode()).hexdigest()[:6]}"
            taken.add(model_id)
            known_paths.add(extra.path)
            models.append(extra if model_id == extra.id else _replace_id(extra, model_id))
        return models

    def _hf_cache_models(self, recorded_repos: set[str]) -> list[InstalledModel]:
        found = []
        for repo_id, snapshot in hfcache.cached_repos():
            if repo_id in recorded_repos:
                continue
            if (snapshot / "model_index.json").is_file():
                if not hub.pipeline_complete(snapshot):
                    continue
                item = scan.identify(snapshot)
                if item is not None and _supported_pipeline(snapshot):
                    found.append(_external(repo_id, repo_id, item, "hf-cache", repo_id))
                continue
            for file in sorted(snapshot.glob("*.safetensors")):
                item = scan.identify(file)
                if item is not None:
                    found.append(
                        _external(f"{repo_id}/{file.name}", f"{file.stem} ({repo_id})", item, "hf-cache", repo_id)
                    )
        return found

    def _folder_models(self, folders: list[str]) -> list[InstalledModel]:
        found = []
        for folder in folders:
            for item in scan.find_models(Path(folder)):
                name = item.path.stem if item.kind == "checkpoint" else item.path.name
                found.append(_external(slug(name), name, item, "folder", str(item.path)))
        return found

    def get(self, model_id: str) -> InstalledModel | None:
        with self._thread_lock:
            data = self._read()
        for record in data.models:
            if record["id"] == model_id:
                return self._from_record(record)
        return next((m for m in self.installed() if m.id == model_id), None)

    def find_by_origin(self, origin: str) -> InstalledModel | None:
        return next((m for m in self.installed() if m.origin == origin or str(m.path) == origin), None)

    # ---- changes -----------------------------------------------------------------------

    def add(
        self,
        *,
        id_hint: str,
        name: str,
        path: Path,
        source: str,
        family: Family,
        inpainting: bool,
        kind: str = "checkpoint",
        origin: str = "",
        owned: bool = False,
        repo_id: str | None = None,
        revision: str | None = None,
        commit: str | None = None,
        file: str | None = None,
    ) -> InstalledModel:
        """Record an install. Recording the same thing twice (same source and origin) returns the first record."""
        record: dict[str, Any] = {
            "name": name,
            "path": str(path),
            "source": source,
            "family": str(family),
            "inpainting": inpainting,
            "kind": kind,
            "origin": origin,
            "owned": owned,
        }
        if repo_id:
            record.update(repo_id=repo_id, revision=revision or "main", commit=commit, file=file)
        with self._editing() as data:
            key = (source, origin or str(path), record.get("file"))
            for existing in data.models:
                if (
                    existing.get("source"),
                    existing.get("origin") or existing.get("path"),
                    existing.get("file"),
                ) == key:
                    existing.update(record)  # a re-download or re-import: same id, fresh details
                    return self._from_record(existing)
            taken = {m["id"] for m in data.models}
            model_id, n = id_hint, 2
            while model_id in taken:
                model_id, n = f"{id_hint}-{n}", n + 1
            record["id"] = model_id
            data.models.append(record)
            data.hidden = [h for h in data.hidden if h not in (model_id, str(path))]
        return self._from_record(record)

    def remove(self, model_id: str) -> InstalledModel:
        """Forget a model; delete its files only if Desktop SD put them there. Returns what was removed."""
        model = self.get(model_id)
        if model is None:
            raise ModelError(f"There is no installed model {model_id!r}. 'desktop-sd models list' shows the ids.")
        with self._editing() as data:
            record = next((r for r in data.models if r["id"] == model_id), None)
            if record is None:
                data.hidden.append(model_id if model.source == "hf-cache" else str(model.path))
            else:
                data.models.remove(record)
                if record.get("owned"):
                    _delete_files(record, model.path)
            if data.default == model_id:
                data.default = None
        return model

    def default_model_id(self) -> str | None:
        """The user's default if still installed; else the first installed model that makes images."""
        with self._thread_lock:
            chosen = self._read().default
        models = [m for m in self.installed() if m.kind == "checkpoint" and m.available]
        if chosen and any(m.id == chosen for m in models):
            return chosen
        return models[0].id if models else None

    def set_default(self, model_id: str) -> None:
        model = self.get(model_id)
        if model is None or model.kind != "checkpoint":
            raise ModelError(f"There is no installed model {model_id!r} to make the default.")
        with self._editing() as data:
            data.default = model_id

    def add_folder(self, folder: Path) -> list[InstalledModel]:
        """Use the models in another app's folder in place. Returns the models found there."""
        folder = folder.resolve()
        found = scan.find_models(folder)
        if not found:
            raise ModelError(
                f"No Stable Diffusion models were found in {folder} (looked for .safetensors checkpoints "
                "and diffusers folders). Pick the app's folder or its models folder."
            )
        with self._editing() as data:
            if str(folder) not in data.folders:
                data.folders.append(str(folder))
            found_paths = {str(f.path) for f in found}
            data.hidden = [h for h in data.hidden if h not in found_paths]
        return [m for m in self.installed() if m.source == "folder" and str(m.path) in found_paths]

    def folders(self) -> list[Path]:
        with self._thread_lock:
            return [Path(f) for f in self._read().folders]

    def taesd_path(self, family: Family) -> Path | None:
        """The tiny preview autoencoder for a family, if installed (TAESD for SD 1.x/2.x, TAESDXL for SDXL,
        TAESD3 for SD 3, TAEF1 for Flux)."""
        want = family if family in (Family.SDXL, Family.SD3, Family.FLUX) else Family.SD1
        for model in self.installed():
            if model.kind == "taesd" and model.family is want and model.available:
                return model.path
        return None


_TEXT_FIELDS = ("name", "source", "kind", "origin", "repo_id", "revision", "commit", "file")
_FAMILIES = {str(f) for f in Family}


def _usable(record: object) -> bool:
    """A model record with an id and a path, each field of its type (optional text fields may be null)."""
    if not isinstance(record, dict):
        return False
    if not isinstance(record.get("id"), str) or not record["id"] or not isinstance(record.get("path"), str):
        return False
    if record.get("family", "unknown") not in _FAMILIES:
        return False
    if any(not isinstance(record.get(k), (str, type(None))) for k in _TEXT_FIELDS):
        return False
    return all(isinstance(record.get(k, False), bool) for k in ("inpainting", "owned"))


def _texts(raw: dict[str, Any], key: str, what: str, problems: list[str]) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        problems.append(f"its {what} are not a list")
        return []
    texts = [v for v in value if isinstance(v, str)]
    if len(texts) != len(value):
        problems.append(f"some of its {what} are not text")
    return texts


def _clean(raw: object) -> tuple[_Data, list[str]]:
    """What is usable in a registry file's JSON, and what was not."""
    if not isinstance(raw, dict):
        return _Data(), ["it is not a JSON object"]
    problems: list[str] = []
    listed = raw.get("models", [])
    if not isinstance(listed, list):
        problems.append("its model list is not a list")
        listed = []
    models: list[dict[str, Any]] = []
    for record in listed:
        if _usable(record) and all(record["id"] != m["id"] for m in models):
            models.append(record)
    if len(models) != len(listed):
        bad = len(listed) - len(models)
        problems.append(f"{bad} {'entry' if bad == 1 else 'entries'} without a usable id, path or type, or twice")
    default = raw.get("default")
    if not isinstance(default, (str, type(None))):
        problems.append("its default is not a model id")
        default = None
    folders = _texts(raw, "folders", "folders", problems)
    hidden = _texts(raw, "hidden", "hidden models", problems)
    return _Data(models=models, default=default, folders=folders, hidden=hidden), problems


SUPPORTED_PIPELINES = {
    "StableDiffusionPipeline",
    "StableDiffusionImg2ImgPipeline",
    "StableDiffusionInpaintPipeline",
    "StableDiffusionXLPipeline",
    "StableDiffusionXLImg2ImgPipeline",
    "StableDiffusionXLInpaintPipeline",
}


def _supported_pipeline(folder: Path) -> bool:
    """Other tools' caches hold all kinds of pipelines (video, SD3, upscalers): list only the ones we run."""
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(index, dict) and index.get("_class_name") in SUPPORTED_PIPELINES


def _external(model_id: str, name: str, item: scan.Found, source: str, origin: str) -> InstalledModel:
    return InstalledModel(
        id=model_id,
        name=name,
        family=item.family,
        inpainting=item.inpainting,
        path=item.path,
        size_bytes=path_size(item.path),
        source=source,
        origin=origin,
    )


def _replace_id(model: InstalledModel, model_id: str) -> InstalledModel:
    import dataclasses

    return dataclasses.replace(model, id=model_id)


def _delete_files(record: dict[str, Any], path: Path) -> None:
    repo_id = record.get("repo_id")
    if repo_id and record.get("source") in ("catalog", "hub"):
        snapshot = path if path.is_dir() else path.parent
        if record.get("file"):
            hfcache.remove_files(repo_id, snapshot, [record["file"]])
        else:
            hfcache.remove_snapshot(repo_id, snapshot)
        return
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
