"""Hugging Face Hub repos: list files, pick the ones a model needs, download them into the standard cache.

The listing (``/api/models/{repo}/revision/{rev}?blobs=true``) declares each
file's size and hash (SHA-256 for LFS files, the git blob hash for small ones);
``transfer.fetch`` checks them. Files go to ``blobs/<etag>`` exactly where
huggingface_hub puts them, so nothing is fetched twice by us or by other tools.
A model already complete in the cache is used without touching the network.

A mirror or proxy may strip the hashes from the listing. Then, as
huggingface_hub does, each such file's ETag comes from a HEAD of its URL; a
file with no hash from either is refused before anything is written.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop_sd.core.errors import DownloadError
from desktop_sd.core.settings import Settings
from desktop_sd.models import hfcache, network, transfer
from desktop_sd.models.transfer import ByteSink, Expected

FileSpec = str | list[str]
"""A glob that must match at least one file, or a list of globs: the first that matches is used."""

# Weights diffusers and transformers load, best first; pickles (.bin/.ckpt) are never fetched.
_WEIGHTS = re.compile(r"^(?P<stem>[^/]+?)(?P<variant>\.fp16)?(?P<shard>-\d{5}-of-\d{5})?\.safetensors(\.index\.json)?$")
_SMALL_FILES = (".json", ".txt", ".model")
_SKIPPED_FOLDERS = {"safety_checker"}


@dataclass(frozen=True)
class RepoFile:
    name: str
    size: int
    sha256: str | None  # LFS files
    blob_id: str | None  # git blob sha1

    @property
    def etag(self) -> str:
        """The blob's name in the cache, as huggingface_hub names it ("" when the listing gave no hash)."""
        return self.sha256 or self.blob_id or ""

    @property
    def expected(self) -> Expected:
        return Expected(self.size, self.sha256, None if self.sha256 else self.blob_id)


@dataclass(frozen=True)
class HubModel:
    repo_id: str
    revision: str
    commit: str
    snapshot: Path
    files: tuple[str, ...]


def resolve_url(repo_id: str, commit: str, filename: str) -> str:
    return f"{network.endpoint()}/{repo_id}/resolve/{commit}/{urllib.parse.quote(filename)}"


def _auth_headers() -> dict[str, str]:
    token = network.hub_token()
    return {"Authorization": f"Bearer {token}"} if token else {}


def list_repo(repo_id: str, revision: str = "main") -> tuple[str, list[RepoFile]]:
    """The commit ``revision`` points at and every file in it, with sizes and hashes."""
    url = f"{network.endpoint()}/api/models/{repo_id}/revision/{urllib.parse.quote(revision, safe='')}?blobs=true"
    request = urllib.request.Request(url, headers={"User-Agent": transfer.USER_AGENT, "Accept": "application/json"})
    for key, value in _auth_headers().items():
        request.add_unredirected_header(key, value)
    try:
        with network.opener().open(request, timeout=transfer.READ_TIMEOUT_S) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (401, 403):
            raise DownloadError(
                f"{repo_id} is gated or private (HTTP {exc.code}). Accept its licence on huggingface.co "
                "and save a token (HF_TOKEN or 'hf auth login'), then retry."
            ) from None
        if exc.code == 404:
            raise DownloadError(
                f"There is no model {repo_id!r} (revision {revision}) on the Hub; check the name."
            ) from None
        raise DownloadError(f"The Hub answered HTTP {exc.code} for {repo_id}. Try again later.") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"Could not list {repo_id}: {transfer._reason(exc)}. Check the connection.") from None
    except ValueError:
        raise DownloadError(f"The Hub sent an unreadable file list for {repo_id}. Try again later.") from None
    try:
        commit = str(data["sha"])
        files = []
        for sibling in data.get("siblings", []):
            lfs = sibling.get("lfs") or {}
            sha256 = str(lfs.get("sha256") or lfs.get("oid") or "").lower()
            blob_id = str(sibling.get("blobId") or "").lower()
            size = lfs.get("size", sibling.get("size"))
            files.append(
                RepoFile(
                    sibling["rfilename"],
                    int(size or 0),
                    sha256 if len(sha256) == 64 and hfcache.is_etag(sha256) else None,
                    blob_id if len(blob_id) == 40 and hfcache.is_etag(blob_id) else None,
                )
            )
    except (KeyError, TypeError, ValueError):
        raise DownloadError(f"The Hub sent an unexpected file list for {repo_id}.") from None
    return commit, files


def with_etag(repo_id: str, commit: str, item: RepoFile) -> RepoFile:
    """``item`` with its hash; when the listing had none, from a HEAD of the file, as huggingface_hub
    does (``X-Linked-Etag`` for LFS files, ``ETag`` for the others). Raises ``DownloadError`` if
    the server gives no usable hash either: a file is never written without its blob name."""
    if item.etag:
        return item
    remote = transfer.probe(resolve_url(repo_id, commit, item.name), headers=_auth_headers())
    etag = remote.etag or ""
    if not hfcache.is_etag(etag):
        raise DownloadError(
            f"The Hub at {network.endpoint()} gives no hash for {item.name} of {repo_id}, in its file list or "
            "its headers (a mirror or proxy may strip them), so it cannot be stored or checked. Nothing was "
            "saved; use the Hub directly or a mirror that keeps the hashes."
        )
    size = remote.size if remote.size is not None else item.size
    if len(etag) == 64:
        return RepoFile(item.name, size, etag, None)
    return RepoFile(item.name, size, None, etag)


def select(names: Sequence[str], specs: Sequence[FileSpec], repo_id: str) -> list[str]:
    """The file names ``specs`` pick, in listing order. A spec that matches nothing is an error."""
    chosen: set[str] = set()
    for spec in specs:
        alternatives = [spec] if isinstance(spec, str) else list(spec)
        for pattern in alternatives:
            matched = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
            if matched:
                chosen.update(matched)
                break
        else:
            raise DownloadError(
                f"{repo_id} has no file matching {' or '.join(alternatives)}; it may have been reorganised. "
                "Pick a file with --file, or report the catalog entry."
            )
    return [n for n in names if n in chosen]


def default_specs(names: Sequence[str], repo_id: str) -> list[FileSpec]:
    """What to fetch when the user names only a repo: a diffusers pipeline (fp16 weights when offered)
    or the repo's one ``.safetensors`` checkpoint."""
    if "model_index.json" in names:
        specs: list[FileSpec] = ["model_index.json"]
        folders = sorted({n.split("/", 1)[0] for n in names if n.count("/") == 1} - _SKIPPED_FOLDERS)
        for folder in folders:
            inside = [n.split("/", 1)[1] for n in names if n.startswith(folder + "/") and n.count("/") == 1]
            specs += [f"{folder}/{n}" for n in inside if n.endswith(_SMALL_FILES) and not _WEIGHTS.match(n)]
            weights = [m for n in inside if (m := _WEIGHTS.match(n))]
            fp16 = [m.group(0) for m in weights if m.group("variant")]
            plain = [m.group(0) for m in weights if not m.group("variant")]
            specs += [f"{folder}/{n}" for n in (fp16 or plain)]
        return specs
    top = [n for n in names if "/" not in n and n.endswith(".safetensors")]
    if len(top) == 1:
        return [top[0]]
    if not top:
        raise DownloadError(
            f"{repo_id} holds neither a diffusers pipeline nor a .safetensors checkpoint Desktop SD can use."
        )
    listing = ", ".join(top[:8]) + (", ..." if len(top) > 8 else "")
    raise DownloadError(f"{repo_id} holds several checkpoints ({listing}); choose one with --file NAME.")


def _local_names(snapshot: Path) -> list[str]:
    return sorted(p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file())


def find_cached(repo_id: str, revision: str, specs: Sequence[FileSpec] | None) -> HubModel | None:
    """The model, if the cache already holds every file it needs (put there by us or by another tool)."""
    snapshot = hfcache.snapshot_path(repo_id, revision)
    if snapshot is None:
        return None
    names = _local_names(snapshot)
    try:
        chosen = select(names, specs if specs is not None else default_specs(names, repo_id), repo_id)
    except DownloadError:
        return None
    if not chosen or (specs is None and "model_index.json" in chosen and not pipeline_complete(snapshot)):
        return None
    if not all(hfcache.owns_blob(snapshot, snapshot / name) for name in chosen):
        return None  # files left pointing at one unnamed blob: fetched again
    commit = snapshot.name
    return HubModel(repo_id, revision, commit, snapshot, tuple(chosen))


def pipeline_complete(folder: Path) -> bool:
    """Whether a diffusers folder holds every component its model_index.json names (configs and weights).

    Another tool may have been interrupted halfway through filling a snapshot.
    """
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or not value or value[0] is None:
            continue
        if name in _SKIPPED_FOLDERS or name == "feature_extractor":
            continue
        sub = folder / name
        if not sub.is_dir():
            return False
        files = [p.name for p in sub.iterdir() if p.is_file()]
        if name.startswith(("unet", "vae", "text_encoder", "transformer")) and not any(
            f.endswith((".safetensors", ".bin")) for f in files
        ):
            return False
        if not any(f.endswith(".json") for f in files) and not name.startswith("tokenizer"):
            return False
    return True


def download(
    repo_id: str,
    *,
    revision: str = "main",
    specs: Sequence[FileSpec] | None = None,
    sink: ByteSink,
    cancelled: threading.Event,
    settings: Settings | None = None,
    on_total: Callable[[int], None] | None = None,
) -> HubModel:
    """Fetch the files a model needs into the Hub cache (what is already there is reused)."""
    if not hfcache.is_repo_id(repo_id):
        raise DownloadError(f"{repo_id!r} is not a Hugging Face repo id (expected owner/name).")
    cached = find_cached(repo_id, revision, specs)
    if cached is not None:
        return cached
    network.ensure_online(network.endpoint(), settings)
    commit, files = list_repo(repo_id, revision)
    by_name = {f.name: f for f in files}
    names = select(
        [f.name for f in files], specs if specs is not None else default_specs(list(by_name), repo_id), repo_id
    )
    chosen = [with_etag(repo_id, commit, by_name[n]) for n in names]  # every hash known before any write
    stray = hfcache.repo_folder(repo_id) / "blobs"
    if stray.is_file():  # one file where the blobs folder belongs, left by a listing without hashes
        stray.unlink()
    missing = [f for f in chosen if not hfcache.blob_path(repo_id, f.etag).is_file()]
    transfer.check_free_space(hfcache.repo_folder(repo_id), sum(f.size for f in missing), repo_id)
    if on_total is not None:
        on_total(sum(f.size for f in chosen))
    for item in chosen:  # every blob first: the snapshot appears only once the model is whole
        blob = hfcache.blob_path(repo_id, item.etag)
        if not blob.is_file():
            transfer.fetch(
                resolve_url(repo_id, commit, item.name),
                blob,
                expected=item.expected,
                sink=sink,
                cancelled=cancelled,
                lock=hfcache.lock_path(repo_id, item.etag),
                private_headers=_auth_headers(),
                name=f"{repo_id}/{item.name}",
            )
        else:
            sink.resumed(item.size)
    for item in chosen:
        hfcache.link_into_snapshot(repo_id, commit, item.name, item.etag)
    hfcache.write_ref(repo_id, revision, commit)
    return HubModel(repo_id, revision, commit, hfcache.repo_folder(repo_id) / "snapshots" / commit, tuple(names))


def discard_partial(repo_id: str) -> None:
    """Remove unfinished blobs of a repo (after the user cancels for good)."""
    blobs = hfcache.repo_folder(repo_id) / "blobs"
    for path in list(blobs.glob("*.incomplete")) + list(blobs.glob("*.incomplete.json")):
        path.unlink(missing_ok=True)
