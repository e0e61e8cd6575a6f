"""A model file's hash as AUTOMATIC1111 writes it (``Model hash``), computed once per file.

A1111 hashes the whole checkpoint with SHA-256 and shows the first 10 hex
digits. Hashing a few gigabytes takes seconds, so each result is kept in a
small JSON cache keyed by the file's path, size and modification time: a file
that changes is hashed again, one that does not never is.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path

from desktop_sd.core.atomic import atomic_write_bytes

SHORT_HASH_DIGITS = 10
LORA_HASH_DIGITS = 12
_CHUNK = 1 << 20
_lock = threading.Lock()


def sha256_file(path: Path) -> str:
    """The SHA-256 of the whole file, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _load(cache: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: it is rebuilt
    return data if isinstance(data, dict) else {}


def model_hash(path: Path, cache: Path) -> str:
    """A1111's ``Model hash`` of ``path`` (first 10 hex digits of its SHA-256), cached in ``cache``.

    Also A1111's ``VAE hash`` of a VAE file. Raises ``OSError`` when the file cannot be read;
    a cache that cannot be written only means the next call hashes again.
    """
    return _cached(path, cache, sha256_file)[:SHORT_HASH_DIGITS]


def sha256_after_header(path: Path) -> str:
    """The SHA-256 of a safetensors file's tensor data (everything after the header): kohya's
    "addnet" hash, which A1111 shows for LoRAs. Metadata edits do not change it."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        length = int.from_bytes(stream.read(8), "little")
        stream.seek(8 + length)
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def lora_hash(path: Path, cache: Path) -> str:
    """A1111's short LoRA hash (``Lora hashes``): the first 12 hex digits of the addnet hash, cached in ``cache``."""
    return _cached(path, cache, sha256_after_header)[:LORA_HASH_DIGITS]


def _cached(path: Path, cache: Path, digest: Callable[[Path], str]) -> str:
    path = Path(path).resolve()
    stat = path.stat()
    key = str(path)
    with _lock:
        entry = _load(cache).get(key)
        if isinstance(entry, dict) and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
            known = entry.get("sha256")
            if isinstance(known, str):
                return known
    full = digest(path)
    with _lock:
        data = _load(cache)
        data[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": full}
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(cache, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
        except OSError:
            pass
    return full
