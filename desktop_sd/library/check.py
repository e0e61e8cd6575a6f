"""Checking a library whole: the database, and every file against its record.

Read-only: nothing is repaired or re-indexed here (opening the library, or
``Library.reconcile``, does that), so a check can run beside the app.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from desktop_sd.library.image_files import is_image_name
from desktop_sd.library.probe import NotAnImage, probe_image
from desktop_sd.library.store import Library


@dataclass(frozen=True)
class CheckReport:
    """What ``check_library`` found; ``ok`` when nothing."""

    checked: int  # records looked at
    database: tuple[str, ...] = ()  # what SQLite's integrity checks report
    missing: tuple[Path, ...] = ()  # records whose file is gone
    damaged: tuple[tuple[Path, str], ...] = ()  # files that no longer read whole, with the reason
    unrecorded: tuple[Path, ...] = ()  # images in the folder with no record (the next start indexes them)

    @property
    def ok(self) -> bool:
        return not (self.database or self.missing or self.damaged or self.unrecorded)


def check_library(library: Library) -> CheckReport:
    """Check the database's integrity, that every record's file exists and reads whole, and that
    every image in the folder has a record."""
    database = tuple(library.records.integrity_problems())
    missing: list[Path] = []
    damaged: list[tuple[Path, str]] = []
    recorded: set[str] = set()
    names = library.records.file_names()
    for _image_id, file_name in names:
        recorded.add(file_name)
        path = library.folder.joinpath(*file_name.split("/"))
        if not path.is_file():
            missing.append(path)
            continue
        try:
            probe_image(path)
        except NotAnImage as exc:
            damaged.append((path, str(exc)))
        except OSError as exc:
            damaged.append((path, exc.strerror or str(exc)))
    unrecorded = [p for p in _images_in(library.folder) if p.relative_to(library.folder).as_posix() not in recorded]
    return CheckReport(len(names), database, tuple(missing), tuple(damaged), tuple(unrecorded))


def _images_in(folder: Path) -> list[Path]:
    found: list[Path] = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # thumbnails, backups, trash
        found += [Path(current) / name for name in sorted(files) if is_image_name(name)]
    return found
