"""Keeping a damaged file aside: renamed beside itself under a name no earlier copy has."""

from __future__ import annotations

import os
import time
from pathlib import Path


def move_aside(path: Path, label: str, suffix: str = "") -> Path:
    """Rename ``path`` to ``<name>.<label>-<date-time>[-N]<suffix>`` beside it; returns the new path.

    With ``suffix`` (".db"), ``<name>`` is the stem, so the copy keeps a
    suffix that opens it. Never replaces an existing file, even when two are
    kept aside in the same second. Raises ``OSError``.
    """
    base = path.stem if suffix else path.name
    stamp = time.strftime("%Y%m%d-%H%M%S")
    counter = 0
    while True:
        aside = path.with_name(f"{base}.{label}-{stamp}{f'-{counter}' if counter else ''}{suffix}")
        counter += 1
        try:
            os.link(path, aside)  # fails if the name is taken, where a rename would replace it
        except FileExistsError:
            continue
        except OSError:  # no hard links here (FAT, some network shares): look first, then rename
            if aside.exists():
                continue
            os.replace(path, aside)
            return aside
        path.unlink()
        return aside
