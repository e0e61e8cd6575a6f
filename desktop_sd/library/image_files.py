"""The image files under the library folder: written whole, named, copied in and out, sent to the trash.

Files live in date folders (``2026-11-22/153012-42-a1b2c3.png``); a
``file_name`` is that path relative to the library folder, with ``/``. Every
write goes through ``core.atomic`` under a ``.tmp-`` name that a reconcile
sweeps away if a crash left one behind. While a temp file exists its writer
holds a shared lock on ``.saves.lock``, so a sweep in any thread or process
removes a young temp file only when no save anywhere is under way (an old one
always: no save takes minutes). No SQLite here: the records are
``image_records``'s, and ``store.Library`` keeps the two in step.

``fault_point`` is a test hook: when ``DESKTOP_SD_FAULT_POINT`` names a point,
the process dies there at once (``os._exit``), as a crash or a kill would.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

from desktop_sd.core.atomic import STEPS, atomic_copy, atomic_write_bytes
from desktop_sd.core.disk_errors import describe_os_error
from desktop_sd.core.errors import LibraryError
from desktop_sd.library import thumbnails

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
TEMP_PREFIX = ".tmp-"
FAULT_ENV = "DESKTOP_SD_FAULT_POINT"
FAULT_EXIT_CODE = 77
MAX_STEM = 80  # keeps names well inside every file system's limit

# Where a save can be cut short, in order: the file's steps, then the record's.
SAVE_POINTS = (*STEPS, "record_inserted", "committed")

SAVES_LOCK = ".saves.lock"
TEMP_GRACE_S = 600.0  # a temp file younger than this may belong to a save still under way (in any process)

Trash = Callable[[Path], None]

try:
    import fcntl
except ImportError:  # Windows: no flock, but there a file still open cannot be removed either
    fcntl = None  # type: ignore[assignment]


def fault_point(name: str) -> None:
    """Die here, abruptly, if the environment asks for it (crash tests only)."""
    if os.environ.get(FAULT_ENV) == name:
        os._exit(FAULT_EXIT_CODE)


def disk_error(exc: OSError, action: str, where: Path) -> LibraryError:
    """A user-facing ``LibraryError`` for a failed disk operation, saying what to do."""
    return LibraryError(f"Could not {action} in {where}: {describe_os_error(exc, 'library folder')}")


def default_trash(path: Path) -> None:
    """Move a file to the system trash; remove it where there is no trash."""
    try:
        from send2trash import send2trash
    except ImportError:
        os.remove(path)
        return
    try:
        send2trash(path)
    except OSError:
        if path.exists():
            os.remove(path)


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def safe_stem(text: str, fallback: str = "image") -> str:
    """A file-name stem from any text: letters, digits, ``-_.`` only, not too long."""
    text = unicodedata.normalize("NFC", text)
    cleaned = re.sub(r"[^\w\-.]+", "_", text, flags=re.UNICODE).strip("._")
    cleaned = cleaned.encode("utf-8", "ignore").decode("utf-8")[:MAX_STEM].rstrip("._")
    return cleaned or fallback


def unique_name(folder: Path, stem: str, suffix: str) -> str:
    """``stem-<random>.suffix`` not yet present in ``folder``."""
    while True:
        name = f"{stem}-{secrets.token_hex(3)}{suffix}"
        if not (folder / name).exists():
            return name


_LOCK_TEXT = b"Desktop SD holds this while it saves an image here. Safe to delete when the app is closed.\n"


def _open_lock(folder: Path) -> int:
    """The saves lock's descriptor (the file says what it is: no empty files in the library)."""
    fd = os.open(folder / SAVES_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size == 0:
            os.write(fd, _LOCK_TEXT)
    except OSError:
        os.close(fd)
        raise
    return fd


def _temp_for(path: Path) -> Path:
    return path.with_name(f"{TEMP_PREFIX}{path.name}")


class ImageFiles:
    """The image files of the library in ``folder``; ``trash`` takes a file away on delete."""

    def __init__(self, folder: Path, trash: Trash = default_trash) -> None:
        self.folder = folder
        self._trash = trash

    def path_of(self, file_name: str) -> Path:
        return self.folder.joinpath(*file_name.split("/"))

    def thumbnail_path(self, file_name: str) -> Path:
        return thumbnails.thumbnail_path(self.folder, file_name)

    def write_new(self, data: bytes, created: float, stem: str, suffix: str = ".png") -> str:
        """Write ``data`` whole to a new file in the folder of ``created``'s day; returns its ``file_name``.

        Raises ``LibraryError`` with nothing left behind. Holds no lock: the
        fsync must not hold up readers or other savers.
        """
        local = time.localtime(created)
        day = time.strftime("%Y-%m-%d", local)
        folder = self.folder / day
        try:
            folder.mkdir(parents=True, exist_ok=True)
            name = unique_name(folder, f"{time.strftime('%H%M%S', local)}-{stem}", suffix)
            path = folder / name
            with self.saving():
                atomic_write_bytes(path, data, temp_path=_temp_for(path), on_step=fault_point)
        except OSError as exc:
            raise disk_error(exc, "save the image", folder) from exc
        return f"{day}/{name}"

    def copy_in(self, source: Path, suffix: str) -> str:
        """Copy an outside image into today's folder under a safe, new name; returns its ``file_name``."""
        day = time.strftime("%Y-%m-%d")
        folder = self.folder / day
        try:
            folder.mkdir(parents=True, exist_ok=True)
            name = unique_name(folder, safe_stem(source.stem), suffix)
            target = folder / name
            with self.saving():
                atomic_copy(source, target, temp_path=_temp_for(target))
        except OSError as exc:
            raise disk_error(exc, f"import {source.name}", folder) from exc
        return f"{day}/{name}"

    def copy_out(self, path: Path, folder: Path) -> Path:
        """Copy a library file (metadata intact) into ``folder``; a name that clashes gets a number."""
        destination = folder / path.name
        counter = 1
        while destination.exists():
            destination = folder / f"{path.stem}-{counter}{path.suffix}"
            counter += 1
        try:
            atomic_copy(path, destination, temp_path=_temp_for(destination))
        except OSError as exc:
            raise disk_error(exc, f"export {path.name}", folder) from exc
        return destination

    @contextlib.contextmanager
    def saving(self) -> Iterator[None]:
        """Hold the saves lock (shared) while a temp file of ours exists. Raises ``OSError``."""
        if fcntl is None:
            yield
            return
        fd = _open_lock(self.folder)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock

    def sweep_temp(self, path: Path) -> bool:
        """Remove a temp file a crashed save left behind; True if removed.

        One younger than ``TEMP_GRACE_S`` is removed only while no save in any
        thread or process holds the saves lock (where there is no ``flock``,
        only an old one is). Never raises.
        """
        try:
            if time.time() - path.stat().st_mtime > TEMP_GRACE_S:
                path.unlink()
                return True
            if fcntl is None:
                return False
            fd = _open_lock(self.folder)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink()
            return True
        except OSError:  # a save is under way (or the file is gone already)
            return False
        finally:
            os.close(fd)

    def discard(self, file_name: str) -> None:
        """Remove a file whose record did not commit (so the two stay in step); never raises."""
        with contextlib.suppress(OSError):
            self.path_of(file_name).unlink()

    def trash(self, file_name: str) -> None:
        """Send a file to the trash (when it is still there) and drop its thumbnail. Raises ``OSError``."""
        path = self.path_of(file_name)
        if path.exists():
            self._trash(path)
        thumbnails.remove_thumbnail(self.folder, file_name)
