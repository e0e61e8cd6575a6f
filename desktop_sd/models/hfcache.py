"""The Hugging Face Hub's standard cache layout, read and written without huggingface_hub.

Models downloaded by other diffusers tools land in the same place, so we find
them and never fetch them twice; what we download, they find. The layout::

    <cache>/models--<org>--<name>/
        refs/<revision>              text file: the commit hash
        blobs/<etag>                 file contents (etag = sha256 for LFS files, git blob sha1 otherwise)
        snapshots/<commit>/<path>    relative symlinks into blobs/ (copies where symlinks are unavailable)
    <cache>/.locks/models--<org>--<name>/<etag>.lock

The cache folder is computed from the environment on every call (``HF_HUB_CACHE``,
``HF_HOME``, ``XDG_CACHE_HOME``), not once at import time as huggingface_hub does.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def cache_dir() -> Path:
    value = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if value:
        return Path(value).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def is_repo_id(text: str) -> bool:
    """``org/name`` with the characters the Hub allows."""
    return re.fullmatch(r"[A-Za-z0-9][\w.\-]*/[\w.\-]+", text) is not None and ".." not in text


def repo_folder(repo_id: str) -> Path:
    return cache_dir() / ("models--" + repo_id.replace("/", "--"))


def lock_path(repo_id: str, etag: str) -> Path:
    return cache_dir() / ".locks" / ("models--" + repo_id.replace("/", "--")) / f"{etag}.lock"


_ETAG = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # a git blob SHA-1, or an LFS file's SHA-256


def is_etag(value: str | None) -> bool:
    """Whether ``value`` can name a blob: a file is never written under an empty or odd name."""
    return bool(value) and _ETAG.fullmatch(str(value)) is not None


def blob_path(repo_id: str, etag: str) -> Path:
    """``blobs/<etag>``; raises ``ValueError`` for anything but a hash (an empty etag would name
    the ``blobs`` folder itself, and every file of a repo would overwrite the one before)."""
    if not is_etag(etag):
        raise ValueError(f"not a blob hash: {etag!r}")
    return repo_folder(repo_id) / "blobs" / etag


def commit_for(repo_id: str, revision: str = "main") -> str | None:
    if _COMMIT.match(revision):
        return revision
    try:
        commit = (repo_folder(repo_id) / "refs" / revision).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return commit if _COMMIT.match(commit) else None


def snapshot_path(repo_id: str, revision: str = "main") -> Path | None:
    """The snapshot folder of ``revision`` if it is in the cache."""
    commit = commit_for(repo_id, revision)
    if commit is None:
        return None
    folder = repo_folder(repo_id) / "snapshots" / commit
    return folder if folder.is_dir() else None


def write_ref(repo_id: str, revision: str, commit: str) -> None:
    if revision == commit:
        return
    ref = repo_folder(repo_id) / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    tmp = ref.with_name(ref.name + ".tmp")
    tmp.write_text(commit, encoding="utf-8")
    os.replace(tmp, ref)


def link_into_snapshot(repo_id: str, commit: str, filename: str, etag: str) -> Path:
    """Point ``snapshots/<commit>/<filename>`` at the blob, as huggingface_hub does."""
    blob = blob_path(repo_id, etag)
    pointer = repo_folder(repo_id) / "snapshots" / commit / filename
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if pointer.is_symlink() or pointer.exists():
        same_copy = not pointer.is_symlink() and pointer.stat().st_size == blob.stat().st_size
        if same_copy or pointer.resolve() == blob.resolve():
            return pointer
        pointer.unlink()
    try:
        os.symlink(os.path.relpath(blob, pointer.parent), pointer)
    except OSError:  # no symlink permission (Windows without developer mode): a copy, like huggingface_hub
        tmp = pointer.with_name(pointer.name + ".tmp")
        shutil.copyfile(blob, tmp)
        os.replace(tmp, pointer)
    return pointer


def owns_blob(snapshot: Path, pointer: Path) -> bool:
    """Whether a snapshot file is a copy, or a link to a blob of its repo named by a hash.

    A snapshot whose files all point at one file named ``blobs`` (what a download from a listing
    stripped of hashes once left) holds no model.
    """
    if not pointer.is_symlink():
        return pointer.is_file()
    target = pointer.resolve()
    return target.is_file() and target.parent == (snapshot.parent.parent / "blobs").resolve() and is_etag(target.name)


def sound_snapshot(snapshot: Path) -> bool:
    """Whether every file of a snapshot is its own blob (see ``owns_blob``)."""
    return all(owns_blob(snapshot, p) for p in snapshot.rglob("*") if p.is_symlink() or p.is_file())


def cached_repos() -> list[tuple[str, Path]]:
    """Every model repo in the cache with a sound snapshot for ``main``: (repo id, snapshot folder)."""
    root = cache_dir()
    found: list[tuple[str, Path]] = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return found
    for entry in entries:
        if not entry.name.startswith("models--") or not entry.is_dir():
            continue
        repo_id = entry.name[len("models--") :].replace("--", "/", 1)
        snapshot = snapshot_path(repo_id)
        if snapshot is not None and sound_snapshot(snapshot):
            found.append((repo_id, snapshot))
    return found


def snapshot_size(folder: Path) -> int:
    """Bytes on disk of the files a snapshot points at (each blob counted once)."""
    seen: set[Path] = set()
    total = 0
    for path in folder.rglob("*"):
        try:
            target = path.resolve()
            if target in seen or not target.is_file():
                continue
            seen.add(target)
            total += target.stat().st_size
        except OSError:
            continue
    return total


def remove_files(repo_id: str, snapshot: Path, names: list[str]) -> None:
    """Delete files from a snapshot, and their blobs unless another snapshot still points at them."""
    doomed: set[Path] = set()
    for name in names:
        pointer = snapshot / name
        if pointer.is_symlink():
            doomed.add(pointer.resolve())
        pointer.unlink(missing_ok=True)
    _prune(repo_id, snapshot, doomed)


def remove_snapshot(repo_id: str, snapshot: Path) -> None:
    """Delete a snapshot and every blob no other snapshot of the repo still uses."""
    doomed = {p.resolve() for p in snapshot.rglob("*") if p.is_symlink()}
    shutil.rmtree(snapshot, ignore_errors=True)
    _prune(repo_id, snapshot, doomed)


def _prune(repo_id: str, snapshot: Path, doomed: set[Path]) -> None:
    repo = repo_folder(repo_id)
    still_used = {p.resolve() for p in (repo / "snapshots").rglob("*") if p.is_symlink()}
    for blob in doomed - still_used:
        blob.unlink(missing_ok=True)
    if snapshot.is_dir():
        for folder in sorted((p for p in snapshot.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            snapshot.rmdir()
    if not any((repo / "snapshots").glob("*")):
        shutil.rmtree(repo, ignore_errors=True)
        shutil.rmtree(cache_dir() / ".locks" / repo.name, ignore_errors=True)
