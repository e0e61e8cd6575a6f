"""The values the history store hands out: image records, search filters, reports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.library.parsed import request_from_fields

MAX_RATING = 5


@dataclass(frozen=True)
class ImageRecord:
    """One image in the library, with everything needed to make it again.

    ``path`` is absolute; ``file_name`` is relative to the library folder (``/``
    separated). ``missing`` is set when the file has gone from disk; the record
    stays so its parameters are not lost. ``source`` names the tool that made
    an imported image ("Desktop SD" for our own). ``parameters_json`` keeps the
    full request (ours) or what the other tool wrote.
    """

    id: int
    path: Path
    file_name: str
    created: datetime
    prompt: str = ""
    negative_prompt: str = ""
    model: str = ""
    scheduler: str = "default"
    steps: int | None = None
    cfg_scale: float | None = None
    seed: int | None = None
    width: int = 0
    height: int = 0
    mode: Mode = Mode.TXT2IMG
    strength: float | None = None
    parent_id: int | None = None
    favourite: bool = False
    rating: int = 0
    tags: tuple[str, ...] = ()
    missing: bool = False
    source: str = ""
    parameters_json: str = field(default="{}", repr=False)

    @property
    def parameters(self) -> dict[str, Any]:
        """The stored parameters: ``{"request": {...}}`` for our images, the other tool's fields otherwise."""
        try:
            data = json.loads(self.parameters_json)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def folder(self) -> Path:
        return self.path.parent

    def to_request(self) -> GenerationRequest:
        """The request that made this image (no init image or mask: those are not stored)."""
        request = self.parameters.get("request")
        if isinstance(request, dict):
            try:
                return GenerationRequest.from_parameters(request)
            except (TypeError, ValueError):
                pass  # damaged JSON: rebuild from the columns below
        return request_from_fields(self)


class Brief(NamedTuple):
    """The little a gallery tile needs: cheaper to read than a whole record."""

    file_name: str
    missing: bool
    favourite: bool


@dataclass(frozen=True)
class Filters:
    """What the gallery narrows a search to. ``date_to`` is exclusive; naive datetimes are local time."""

    model: str | None = None
    mode: Mode | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    favourite: bool = False
    size: tuple[int, int] | None = None
    min_rating: int = 0
    tag: str | None = None

    @property
    def empty(self) -> bool:
        return self == Filters()


@dataclass(frozen=True)
class ImportReport:
    """What ``Library.import_files`` did: records added, files skipped with the reason, and files
    whose content was already in the history."""

    added: tuple[ImageRecord, ...] = ()
    skipped: tuple[tuple[Path, str], ...] = ()
    already: tuple[Path, ...] = ()
    stopped: bool = False  # cancelled before every file was looked at

    def summary(self) -> str:
        """One line for the user: imported, already there, skipped (with the first reasons)."""
        parts = [f"Imported {len(self.added)} image{'' if len(self.added) == 1 else 's'}"]
        if self.already:
            parts.append(f"{len(self.already)} already in the history")
        if self.skipped:
            reasons = "; ".join(f"{path.name}: {why}" for path, why in self.skipped[:3])
            more = f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
            parts.append(f"{len(self.skipped)} skipped ({reasons}{more})")
        return ", ".join(parts) + (" before the import was stopped." if self.stopped else ".")


@dataclass(frozen=True)
class ExportReport:
    """What ``Library.export`` did: the copies written, and records skipped with the reason."""

    exported: tuple[Path, ...] = ()
    skipped: tuple[tuple[Path, str], ...] = ()


@dataclass(frozen=True)
class ReconcileReport:
    """What start-up found: files re-indexed, records marked missing or found again, temp files removed."""

    indexed: int = 0
    missing: int = 0
    found: int = 0
    temp_removed: int = 0
    folders_scanned: int = 0
    skipped: tuple[tuple[Path, str], ...] = ()


class LibraryEventKind(StrEnum):
    """What changed: some images added, changed or removed, or everything (``RESET``: reload it all)."""

    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"
    RESET = "reset"


@dataclass(frozen=True)
class LibraryEvent:
    """Sent to listeners after a change to the images ``ids`` (none for a reset)."""

    kind: LibraryEventKind
    ids: tuple[int, ...] = ()


def timestamp(value: datetime) -> float:
    return value.timestamp()


def from_timestamp(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)
