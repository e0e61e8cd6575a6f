"""Downloading a model and recording it: from the catalog, a Hub repo (or one file of it), or a URL.

``parse_target`` turns what the user typed into a ``Target``; ``install`` runs
it in the calling thread (the GUI runs it on a worker thread, the CLI in its
own) and returns the installed model. Nothing is recorded until every file
is downloaded and verified.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import filelock

from desktop_sd.core import paths
from desktop_sd.core.errors import DownloadError, ModelError
from desktop_sd.core.request import Family
from desktop_sd.core.settings import Settings
from desktop_sd.models import hfcache, hub, inspection, network, transfer
from desktop_sd.models.addons import describe
from desktop_sd.models.catalog import CatalogEntry, find_entry
from desktop_sd.models.hub import FileSpec
from desktop_sd.models.progress import Meter
from desktop_sd.models.registry import InstalledModel, Registry, slug


@dataclass(frozen=True)
class Target:
    """One thing to download. ``id`` is the id the model will have once installed."""

    id: str
    label: str
    repo_id: str | None = None
    revision: str = "main"
    specs: tuple[FileSpec, ...] | None = None
    file: str | None = None  # the single checkpoint file of a Hub repo
    url: str | None = None
    sha256: str | None = None
    entry: CatalogEntry | None = None


def parse_target(what: str | CatalogEntry, file: str | None = None, sha256: str | None = None) -> Target:
    """A catalog entry or id, ``owner/name`` (with ``file``), a Hub file URL, or any https URL to a .safetensors."""
    if isinstance(what, CatalogEntry):
        return _catalog_target(what)
    text = what.strip()
    entry = find_entry(text)
    if entry is not None and file is None:
        return _catalog_target(entry)
    if text.startswith(("http://", "https://")):
        hub_file = _hub_file_url(text)
        if hub_file is not None:
            repo_id, revision, name = hub_file
            return _hub_target(repo_id, revision, name)
        name = urllib.parse.unquote(urllib.parse.urlsplit(text).path.rsplit("/", 1)[-1])
        return Target(id=slug(Path(name).stem) if name else "download", label=name or text, url=text, sha256=sha256)
    if hfcache.is_repo_id(text):
        return _hub_target(text, "main", file)
    raise DownloadError(f"{what!r} is not a catalog model, a Hugging Face repo id (owner/name) or an http(s) URL.")


def _catalog_target(entry: CatalogEntry) -> Target:
    return Target(
        id=entry.id,
        label=entry.name,
        repo_id=entry.repo_id,
        revision=entry.revision,
        specs=entry.files,
        file=entry.single_file,
        entry=entry,
    )


def _hub_target(repo_id: str, revision: str, file: str | None) -> Target:
    if file:
        return Target(
            id=f"{repo_id}/{file}",
            label=f"{file} ({repo_id})",
            repo_id=repo_id,
            revision=revision,
            specs=(file,),
            file=file,
        )
    return Target(id=repo_id, label=repo_id, repo_id=repo_id, revision=revision)


def _hub_file_url(url: str) -> tuple[str, str, str] | None:
    """``<endpoint>/<owner>/<name>/resolve/<rev>/<file>`` of the configured Hub, else None."""
    base = network.endpoint()
    if not url.startswith(base + "/"):
        return None
    match = re.fullmatch(r"([^/]+/[^/]+)/(?:resolve|blob)/([^/]+)/(.+?)(\?.*)?", url[len(base) + 1 :])
    if match is None:
        return None
    return match.group(1), urllib.parse.unquote(match.group(2)), urllib.parse.unquote(match.group(3))


def install(
    target: Target,
    registry: Registry,
    meter: Meter,
    cancelled: threading.Event,
    settings: Settings | None = None,
) -> InstalledModel:
    """Download and record ``target``; the meter gets a final report when it succeeds."""
    try:
        if target.url is not None:
            model = _install_url(target, registry, meter, cancelled, settings)
        else:
            model = _install_hub(target, registry, meter, cancelled, settings)
    except OSError as exc:
        raise DownloadError(f"Could not save {target.label}: {exc.strerror or exc} ({exc.filename or ''}).") from None
    meter.flush()
    return model


def _set_total(meter: Meter, total: int) -> None:
    meter.total = total


def _install_hub(
    target: Target, registry: Registry, meter: Meter, cancelled: threading.Event, settings: Settings | None
) -> InstalledModel:
    assert target.repo_id is not None
    model = hub.download(
        target.repo_id,
        revision=target.revision,
        specs=target.specs,
        sink=meter,
        cancelled=cancelled,
        settings=settings,
        on_total=lambda total: _set_total(meter, total),
    )
    entry = target.entry
    kind = entry.kind if entry else "checkpoint"
    if target.file:
        path = model.snapshot / target.file
        addon = describe(path) if kind == "checkpoint" and entry is None else None
        if addon is not None:  # a LoRA, embedding or VAE file from the Hub
            kind, family, inpainting = str(addon.kind), addon.family, False
        elif kind == "checkpoint":
            info = inspection.detect(path)
            if info.kind != "checkpoint":
                raise ModelError(f"{target.file} from {target.repo_id} is a {info.kind} file, not a whole model.")
            family, inpainting = info.family, info.inpainting
        else:
            inspection.read_header(path)
            family, inpainting = (entry.family if entry else Family.UNKNOWN), False
    else:
        path = model.snapshot
        if kind == "checkpoint":
            if not (path / "model_index.json").is_file():
                raise ModelError(f"{target.repo_id} is not a diffusers model; choose one of its files with --file.")
            family, inpainting = inspection.describe_folder(path)
        else:
            family, inpainting = (entry.family if entry else Family.UNKNOWN), False
        for name in model.files:
            if name.endswith(".safetensors"):
                inspection.read_header(path / name)
    return registry.add(
        id_hint=target.id,
        name=entry.name if entry else target.label,
        path=path,
        source="catalog" if entry else "hub",
        family=family,
        inpainting=inpainting,
        kind=kind,
        origin=target.repo_id,
        owned=True,
        repo_id=target.repo_id,
        revision=target.revision,
        commit=model.commit,
        file=target.file,
    )


def _install_url(
    target: Target, registry: Registry, meter: Meter, cancelled: threading.Event, settings: Settings | None
) -> InstalledModel:
    assert target.url is not None
    existing = registry.find_by_origin(target.url)
    if existing is not None and existing.available:
        return existing
    network.ensure_online(target.url, settings)
    remote = transfer.probe(target.url)
    name = remote.filename or target.label
    if not name.lower().endswith(".safetensors"):
        raise DownloadError(
            f"{name} is not a .safetensors file. Only .safetensors can be downloaded directly; "
            "download a .ckpt yourself and import it, so it can be converted safely."
        )
    if target.sha256 and remote.sha256 and target.sha256.lower() != remote.sha256:
        raise DownloadError(f"The SHA-256 you gave for {name} differs from the one the server declares.")
    meter.total = remote.size or 0
    dest = _url_destination(name, target.url)
    transfer.fetch(
        target.url,
        dest,
        expected=transfer.Expected(size=remote.size, sha256=(target.sha256 or remote.sha256 or None)),
        sink=meter,
        cancelled=cancelled,
        lock=dest.parent / ".locks" / (dest.name + ".lock"),
        name=name,
    )
    try:
        info = inspection.detect(dest)
        addon = describe(dest) if info.kind != "checkpoint" else None
        if info.kind != "checkpoint" and addon is None:
            raise ModelError(f"{name} is a {info.kind} file, not a whole Stable Diffusion model.")
    except ModelError:
        dest.unlink(missing_ok=True)
        raise
    return registry.add(
        id_hint=slug(Path(name).stem),
        name=Path(name).stem,
        path=dest,
        source="url",
        family=addon.family if addon is not None else info.family,
        inpainting=info.inpainting,
        kind=str(addon.kind) if addon is not None else "checkpoint",  # a LoRA, embedding or VAE is listed as one
        origin=target.url,
        owned=True,
    )


def downloads_dir() -> Path:
    return paths.models_dir() / "downloads"


def _partial_url(dest: Path) -> str | None:
    try:
        data = json.loads(transfer.partial_paths(dest)[1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) else None


def _url_destination(name: str, url: str) -> Path:
    """``downloads/<name>``, or ``<stem>-2`` ... when another download owns that name.

    Stable across restarts, so an interrupted download finds its partial file again.
    """
    folder = downloads_dir()
    stem, suffix, n = Path(name).stem, Path(name).suffix, 2
    candidate = folder / name
    while candidate.exists() or (_partial_url(candidate) not in (None, url)):
        candidate, n = folder / f"{stem}-{n}{suffix}", n + 1
    return candidate


def discard(target: Target) -> None:
    """Remove the partial files of a cancelled download, so nothing stray is left."""
    if target.repo_id is not None:
        hub.discard_partial(target.repo_id)
    elif target.url is not None:
        for sidecar in downloads_dir().glob("*.incomplete.json"):
            dest = sidecar.with_name(sidecar.name.removesuffix(".incomplete.json"))
            if _partial_url(dest) == target.url:
                transfer.discard_partial(dest)


def clean_partials() -> int:
    """Delete every unfinished download no process is still writing; returns the bytes freed.

    Partial files are kept after a dropped connection so a retry resumes; this
    is the "leave nothing behind" for downloads the user gave up on. A partial
    file whose lock is held (a download running now, here or in another
    process) is left alone.
    """
    freed = 0
    candidates = [
        (p, p.parent / ".locks" / (p.name.removesuffix(".incomplete") + ".lock")) for p in _partials(downloads_dir())
    ]
    cache = hfcache.cache_dir()
    for repo in cache.glob("models--*"):
        for part in _partials(repo / "blobs"):
            candidates.append((part, cache / ".locks" / repo.name / (part.name.removesuffix(".incomplete") + ".lock")))
    for part, lock in candidates:
        dest = part.with_name(part.name.removesuffix(".incomplete"))
        lock.parent.mkdir(parents=True, exist_ok=True)
        flock = filelock.FileLock(str(lock), thread_local=False)
        try:
            flock.acquire(timeout=0)
        except filelock.Timeout:
            continue
        try:
            size = part.stat().st_size if part.exists() else 0
            transfer.discard_partial(dest)
            freed += size
        finally:
            flock.release()
    return freed


def _partials(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.incomplete")) if folder.is_dir() else []
