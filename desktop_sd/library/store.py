"""The history store: every image the app makes, saved the moment it exists, searchable.

``Library`` is the service the app uses; it composes the records
(``image_records.ImageRecords``, SQLite) and the files
(``image_files.ImageFiles``, the folder) and keeps them in step. A save writes
the PNG completely (temp file, fsync, rename) and only THEN commits its
record, so a crash at any point leaves either nothing, or a whole file that
the next start re-indexes from its metadata; never a record without its file,
never half a file. No Qt here: the gallery model wraps this for the GUI.

One ``Library`` may be used from several threads. Image files are written
outside any lock; listeners are called on the thread that made the change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from PIL import Image

from desktop_sd.core import paths
from desktop_sd.core.errors import LibraryError
from desktop_sd.core.file_hash import sha256_file
from desktop_sd.core.provenance import NO_PROVENANCE, Provenance
from desktop_sd.core.request import GenerationRequest
from desktop_sd.library.image_files import (
    IMAGE_SUFFIXES,
    ImageFiles,
    Trash,
    default_trash,
    disk_error,
    fault_point,
    is_image_name,
)
from desktop_sd.library.image_records import DEFAULT_BUSY_TIMEOUT_S, ImageRecords, move_aside_damaged
from desktop_sd.library.metadata import encode_png
from desktop_sd.library.probe import NotAnImage, probe_image
from desktop_sd.library.records import (
    Brief,
    ExportReport,
    Filters,
    ImageRecord,
    ImportReport,
    LibraryEvent,
    LibraryEventKind,
    ReconcileReport,
)
from desktop_sd.library.rows import row_for_parsed, row_for_request

Listener = Callable[[LibraryEvent], None]
_SUFFIX_OF_FORMAT = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}  # for a file named with another suffix


class Library:
    """The image history in ``folder``. Use ``Library.open``; ``close`` when done."""

    def __init__(self, records: ImageRecords, files: ImageFiles) -> None:
        self.records = records
        self.files = files
        self.folder = files.folder
        self.last_reconcile = ReconcileReport()
        self._listeners: list[Listener] = []

    # ---- opening and closing ----------------------------------------------------------

    @classmethod
    def open(
        cls,
        folder: Path | str | None = None,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
        trash: Trash | None = None,
        reconcile: bool = True,
    ) -> Library:
        """Open (creating or migrating) the library in ``folder`` (default: the user's library folder).

        Reconciles the folder with the records unless ``reconcile`` is false;
        the result is in ``last_reconcile``.
        """
        root = Path(folder) if folder is not None else paths.default_library_dir()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(exc, "create the library folder", root) from exc
        library = cls(ImageRecords.open(root, busy_timeout), ImageFiles(root, trash or default_trash))
        if reconcile:
            try:
                library.reconcile()
            except BaseException:
                library.close()
                raise
        return library

    @classmethod
    def rebuild(cls, folder: Path | str | None = None, *, trash: Trash | None = None) -> Library:
        """Start ``folder``'s history afresh from its images (for a damaged database); returns it open.

        The old database is kept beside it as ``library.damaged-<time>.db``;
        every image is indexed again from the parameters it carries (the
        result is in ``last_reconcile``). Close any ``Library`` open on the
        folder first. Raises ``LibraryError``.
        """
        root = Path(folder) if folder is not None else paths.default_library_dir()
        try:
            move_aside_damaged(root)
        except OSError as exc:
            raise disk_error(exc, "move the damaged history database aside", root) from exc
        library = cls.open(root, trash=trash, reconcile=False)
        try:
            library.reconcile(full=True)
        except BaseException:
            library.close()
            raise
        return library

    def close(self) -> None:
        """Checkpoint the write-ahead log and close. Safe to call twice."""
        self.records.close()

    @property
    def closed(self) -> bool:
        return self.records.closed

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- listeners --------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _notify(self, kind: LibraryEventKind, ids: Iterable[int] = ()) -> None:
        event = LibraryEvent(kind, tuple(ids))
        for listener in list(self._listeners):
            listener(event)

    # ---- saving -----------------------------------------------------------------------

    def add(
        self,
        image: Image.Image,
        request: GenerationRequest,
        model_id: str,
        parent_id: int | None = None,
        provenance: Provenance = NO_PROVENANCE,
    ) -> ImageRecord:
        """Save a finished image with its metadata, then record it; returns the record.

        ``provenance`` (``Provenance.of(result, index)``) is written into the file with the request:
        the checkpoint's A1111 ``Model hash``, the ComfyUI server that made the image and the graph
        submitted for it (so ComfyUI itself can load the file), LoRA and VAE hashes, an upscale's text.

        Raises ``LibraryError`` (full or read-only disk, locked database) with
        nothing half-written and no record without its file; the caller still
        holds ``image`` and can retry or choose another folder.
        """
        created = time.time()
        extra = {"created": created, "model_id": model_id, "parent_id": parent_id}
        data = encode_png(image, request, model_id, extra, provenance=provenance)
        if self.closed:
            raise LibraryError("The library is closed.")
        seed = request.seed if request.seed is not None else "x"
        file_name = self.files.write_new(data, created, str(seed))
        row = row_for_request(request, file_name, created, model_id, parent_id, image.size)
        row["content_hash"] = hashlib.sha256(data).hexdigest()
        server = provenance.server
        if server:  # as a rebuild from the file would record it (the chunk's extra keys sit beside the request)
            row["params"] = json.dumps({**json.loads(row["params"]), "server": server}, ensure_ascii=False)
        image_id = self._record(row, on_step=fault_point)
        record = self.get(image_id)
        assert record is not None
        self._notify(LibraryEventKind.ADDED, (image_id,))
        return record

    def bulk_insert(self, rows: Iterable[dict[str, object]]) -> int:
        """Record many files already in the library folder, in one transaction; returns how many.

        For importers and benchmarks that place files themselves. Each row
        holds the ``images`` columns (see ``rows.row_for_parsed``); listeners
        get one "reset".
        """
        count = self.records.insert_many(rows)
        self._notify(LibraryEventKind.RESET)
        return count

    # ---- moving files in and out ------------------------------------------------------

    def delete(self, ids: Iterable[int]) -> tuple[int, ...]:
        """Send the files to the trash (or remove them where there is none) and drop their records.

        Returns the ids removed. A file that cannot be removed keeps its
        record, and a ``LibraryError`` names it after the others are done.
        """
        removed: list[int] = []
        failed: list[tuple[Path, str]] = []
        for record in self.get_many(list(dict.fromkeys(int(i) for i in ids))):
            try:
                self.files.trash(record.file_name)
            except OSError as exc:
                failed.append((record.path, exc.strerror or str(exc)))
                continue
            removed.append(record.id)
        if removed:
            self.records.delete(removed)
            self._notify(LibraryEventKind.REMOVED, removed)
        if failed:
            path, reason = failed[0]
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            raise LibraryError(f"Could not delete {path}{more}: {reason}. Close programs using it and try again.")
        return tuple(removed)

    def export(self, ids: Iterable[int], folder: Path | str) -> ExportReport:
        """Copy the images (metadata intact) into ``folder``; names that clash get a number."""
        target = Path(folder)
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(exc, "create the export folder", target) from exc
        exported: list[Path] = []
        skipped: list[tuple[Path, str]] = []
        for record in self.get_many(list(dict.fromkeys(int(i) for i in ids))):
            if not record.path.is_file():
                skipped.append((record.path, "the file is missing"))
                continue
            exported.append(self.files.copy_out(record.path, target))
        return ExportReport(tuple(exported), tuple(skipped))

    def import_files(
        self,
        paths: Iterable[Path | str],
        on_file: Callable[[int, int], None] | None = None,
        cancelled: threading.Event | None = None,
    ) -> ImportReport:
        """Copy images (and folders of them) into the library, reading whatever metadata they carry.

        Damaged files and non-images are skipped with the reason; images with
        no readable metadata come in as plain images. A file whose content is
        already in the history (by SHA-256) is not added again: it is reported
        in ``already``. ``on_file(done, total)`` hears after each file; once
        ``cancelled`` is set, no further file is started (``stopped`` says so).
        """
        files: list[Path] = []
        root = self.folder.resolve()
        added: list[ImageRecord] = []
        skipped: list[tuple[Path, str]] = []
        already: list[Path] = []
        for item in paths:
            path = Path(item)
            if path.resolve().is_relative_to(root):
                skipped.append((path, "it is already in the library"))
            elif path.is_dir():
                files += _walk_images(path, root)
            else:
                files.append(path)
        self._hash_unhashed()
        stopped = False
        for done, path in enumerate(files, 1):
            if cancelled is not None and cancelled.is_set():
                stopped = True
                break
            try:
                image_id = self._import_one(path)
            except NotAnImage as exc:
                skipped.append((path, str(exc)))
            except OSError as exc:
                skipped.append((path, exc.strerror or str(exc)))
            else:
                if image_id is None:
                    already.append(path)
                else:
                    added += self.get_many([image_id])
            if on_file is not None:
                on_file(done, len(files))
        if added:
            self._notify(LibraryEventKind.ADDED, [r.id for r in added])
        return ImportReport(tuple(added), tuple(skipped), tuple(already), stopped)

    def _hash_unhashed(self) -> None:
        """Learn the content hash of images that came in without one (found in the folder, or saved
        by an older version), so that importing them again is recognised."""
        hashes: list[tuple[int, str]] = []
        for image_id, file_name in self.records.unhashed():
            path = self.folder.joinpath(*file_name.split("/"))
            with contextlib.suppress(OSError):  # a missing file: learnt when it comes back
                hashes.append((image_id, sha256_file(path)))
        if hashes:
            self.records.set_hashes(hashes)

    def _import_one(self, source: Path) -> int | None:
        """The new record's id, or None when the same content is already in the history."""
        if not source.is_file():
            raise NotAnImage("it is not a file")
        digest = sha256_file(source)
        if self.records.find_by_hash(digest) is not None:
            return None
        probe = probe_image(source)
        suffix = source.suffix.lower() if source.suffix.lower() in IMAGE_SUFFIXES else ""
        suffix = suffix or _SUFFIX_OF_FORMAT.get(probe.format, "")
        if not suffix:
            raise NotAnImage(f"{probe.format} images are not kept in the library; convert it to PNG first")
        created = source.stat().st_mtime
        file_name = self.files.copy_in(source, suffix)
        row = row_for_parsed(probe.parameters, file_name, created, (probe.width, probe.height))
        row["content_hash"] = digest
        return self._record(row)

    def _record(self, row: dict[str, object], on_step: Callable[[str], None] | None = None) -> int:
        """Record a file just written whole into the folder; returns its id.

        A reconcile may have indexed the file already (``ImageRecords.insert``
        then updates that record). If the record cannot be written, the file
        is taken back, unless something recorded it meanwhile.
        """
        try:
            return self.records.insert(row, on_step=on_step)
        except BaseException:
            self.records.discard_unrecorded(str(row["file_name"]), self.files.discard)
            raise

    # ---- reading ----------------------------------------------------------------------

    def get(self, image_id: int) -> ImageRecord | None:
        return self.records.get(image_id)

    def get_many(self, ids: Sequence[int]) -> list[ImageRecord]:
        """Records for ``ids`` in the order given (unknown ids left out)."""
        return self.records.get_many(ids)

    def brief(self, ids: Sequence[int]) -> dict[int, Brief]:
        """File name, missing and favourite flags: what painting a tile needs, much cheaper than records."""
        return self.records.brief(ids)

    def search(
        self, text: str = "", filters: Filters | None = None, offset: int = 0, limit: int = 100
    ) -> list[ImageRecord]:
        """Records whose prompt, negative prompt, model, tags or seed match every word of ``text``, newest first."""
        return self.records.search(text, filters, offset, limit)

    def query(self, filters: Filters | None = None, offset: int = 0, limit: int = 100) -> list[ImageRecord]:
        """Records matching ``filters`` alone, newest first."""
        return self.records.search("", filters, offset, limit)

    def page_ids(
        self,
        text: str = "",
        filters: Filters | None = None,
        before_id: int | None = None,
        limit: int = 256,
        offset: int = 0,
    ) -> list[int]:
        """Ids of a page of matches, newest first (see ``ImageRecords.page_ids``)."""
        return self.records.page_ids(text, filters, before_id, limit, offset)

    def matching_ids(self, ids: Sequence[int], text: str = "", filters: Filters | None = None) -> set[int]:
        """Those of ``ids`` that match a search (to tell whether a new or changed image belongs in a view)."""
        return self.records.matching_ids(ids, text, filters)

    def count(self, text: str = "", filters: Filters | None = None, newer_than: int | None = None) -> int:
        """How many images match; with ``newer_than``, how many of them are newer than that image."""
        return self.records.count(text, filters, newer_than)

    def models(self) -> list[str]:
        """Every model name in the library (for the gallery's filter)."""
        return self.records.models()

    def sizes(self) -> list[tuple[int, int]]:
        return self.records.sizes()

    def thumbnail_path(self, record: ImageRecord | str) -> Path:
        """Where the cached thumbnail of a record (or of a ``file_name``) lives."""
        return self.files.thumbnail_path(record if isinstance(record, str) else record.file_name)

    def path_of(self, file_name: str) -> Path:
        return self.files.path_of(file_name)

    # ---- changing ---------------------------------------------------------------------

    def set_favourite(self, ids: int | Iterable[int], favourite: bool = True) -> None:
        self._notify(LibraryEventKind.CHANGED, self.records.set_favourite(_ids(ids), favourite))

    def set_rating(self, ids: int | Iterable[int], rating: int) -> None:
        """Rate 1 to 5 stars; 0 clears the rating."""
        self._notify(LibraryEventKind.CHANGED, self.records.set_rating(_ids(ids), rating))

    def set_tags(self, ids: int | Iterable[int], tags: Iterable[str]) -> None:
        """Replace the tags (trimmed, commas removed, duplicates dropped)."""
        self._notify(LibraryEventKind.CHANGED, self.records.set_tags(_ids(ids), tags))

    def mark_missing(self, image_id: int, missing: bool = True) -> None:
        """Record that a file has gone (or come back), e.g. when its thumbnail could not be read."""
        self._notify(LibraryEventKind.CHANGED, self.records.mark_missing(image_id, missing))

    def reconcile(self, full: bool = False) -> ReconcileReport:
        """Bring the records in line with the folder (see ``library.reconcile``)."""
        report = self.records.reconcile(self.files.sweep_temp, full)
        self.last_reconcile = report
        if report.indexed or report.missing or report.found:
            self._notify(LibraryEventKind.RESET)
        return report


def _ids(ids: int | Iterable[int]) -> list[int]:
    return [ids] if isinstance(ids, int) else [int(i) for i in ids]


def _walk_images(folder: Path, exclude: Path) -> Iterator[Path]:
    """Image files under ``folder`` (hidden folders and the library itself left out), sorted."""
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != exclude)
        for name in sorted(files):
            if is_image_name(name):
                yield here / name
