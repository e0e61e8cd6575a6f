"""Turning records into table rows and back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.library.parsed import DESKTOP_SD, ParsedParameters, to_float, to_int
from desktop_sd.library.records import ImageRecord, from_timestamp

FIELDS = (
    "id",
    "file_name",
    "created",
    "prompt",
    "negative_prompt",
    "model",
    "scheduler",
    "steps",
    "cfg_scale",
    "seed",
    "width",
    "height",
    "mode",
    "strength",
    "parent_id",
    "favourite",
    "rating",
    "tags",
    "missing",
    "source",
    "params",
)
COLUMNS = ", ".join(f"images.{name}" for name in FIELDS)
INSERT_FIELDS = (*FIELDS[1:], "folder", "content_hash")
INSERT_SQL = f"INSERT INTO images ({', '.join(INSERT_FIELDS)}) VALUES ({', '.join('?' * len(INSERT_FIELDS))})"
_MODES = {m.value: m for m in Mode}


def folder_of(file_name: str) -> str:
    return file_name.rpartition("/")[0]


def split_tags(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def join_tags(tags: Iterable[str]) -> str:
    """Tags cleaned for storage: trimmed, no commas, no duplicates (case-insensitive), order kept."""
    seen: set[str] = set()
    kept: list[str] = []
    for tag in tags:
        clean = " ".join(str(tag).replace(",", " ").split())[:64]
        if clean and clean.lower() not in seen:
            seen.add(clean.lower())
            kept.append(clean)
    return ", ".join(kept)


def record_from_row(row: Sequence[Any], root: Path) -> ImageRecord:
    data = dict(zip(FIELDS, row, strict=True))
    return ImageRecord(
        id=data["id"],
        path=root.joinpath(*data["file_name"].split("/")),
        file_name=data["file_name"],
        created=from_timestamp(data["created"]),
        prompt=data["prompt"],
        negative_prompt=data["negative_prompt"],
        model=data["model"],
        scheduler=data["scheduler"],
        steps=data["steps"],
        cfg_scale=data["cfg_scale"],
        seed=_seed_from_column(data["seed"]),
        width=data["width"],
        height=data["height"],
        mode=_MODES.get(data["mode"], Mode.TXT2IMG),
        strength=data["strength"],
        parent_id=data["parent_id"],
        favourite=bool(data["favourite"]),
        rating=int(data["rating"]),
        tags=split_tags(data["tags"]),
        missing=bool(data["missing"]),
        source=data["source"],
        parameters_json=data["params"],
    )


def _seed(value: int | None) -> str | None:
    """A seed as the database keeps it: exact decimal text (an INTEGER column stops at 2**63 - 1)."""
    return None if value is None else str(int(value))


def _seed_from_column(value: object) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def row_for_request(
    request: GenerationRequest,
    file_name: str,
    created: float,
    model_id: str,
    parent_id: int | None,
    size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """A row for an image we made; ``size`` is the image's own (the request's if not given)."""
    width, height = size or (request.width, request.height)
    return {
        "file_name": file_name,
        "created": created,
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt,
        "model": model_id or request.model,
        "scheduler": request.scheduler,
        "steps": request.steps,
        "cfg_scale": request.cfg_scale,
        "seed": _seed(request.seed),
        "width": width,
        "height": height,
        "mode": str(request.mode),
        "strength": request.strength if request.mode is not Mode.TXT2IMG else None,
        "parent_id": parent_id,
        "favourite": 0,
        "rating": 0,
        "tags": "",
        "missing": 0,
        "source": DESKTOP_SD,
        "params": json.dumps({"request": request.parameters(), "model_id": model_id}, ensure_ascii=False),
    }


def row_for_parsed(
    parsed: ParsedParameters | None, file_name: str, created: float, size: tuple[int, int]
) -> dict[str, Any]:
    """A row for a file found on disk or imported, from whatever metadata it carried."""
    if parsed is None:
        params: dict[str, Any] = {}
        parsed = ParsedParameters(source="")
    elif parsed.request is not None:
        params = {"request": dict(parsed.request), **dict(parsed.extra)}
    else:
        params = {"sampler": parsed.sampler, "extra": dict(parsed.extra), "raw": parsed.raw[:100_000]}
    own = parsed.request is not None
    # Our own images carry when they were made and from what; other files get the file's time.
    created = (to_float(parsed.extra.get("created")) if own else None) or created
    parent = to_int(parsed.extra.get("parent_id")) if own else None
    model = (parsed.extra.get("model_id") or parsed.model) if own else parsed.model
    return {
        "file_name": file_name,
        "created": created,
        "prompt": parsed.prompt,
        "negative_prompt": parsed.negative_prompt,
        "model": model,
        "scheduler": parsed.scheduler,
        "steps": parsed.steps,
        "cfg_scale": parsed.cfg_scale,
        "seed": _seed(parsed.seed),
        "width": size[0],
        "height": size[1],
        "mode": str(parsed.mode),
        "strength": parsed.strength if parsed.mode is not Mode.TXT2IMG else None,
        "parent_id": parent,
        "favourite": 0,
        "rating": 0,
        "tags": "",
        "missing": 0,
        "source": parsed.source,
        "params": json.dumps(params, ensure_ascii=False),
    }


def insert_row(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    """Insert one row; ``content_hash`` (the file's SHA-256) may be left out, to be filled in later."""
    row = {"content_hash": None, **row, "folder": folder_of(row["file_name"])}
    cursor = conn.execute(INSERT_SQL, [row[name] for name in INSERT_FIELDS])
    return int(cursor.lastrowid or 0)
