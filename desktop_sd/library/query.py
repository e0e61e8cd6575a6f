"""SQL for gallery searches: the user's words as a safe FTS5 query, and the filters.

Results come newest first (``id`` descending: the order images entered the
library). Pages are fetched by key (``id < last id seen``), so the thousandth
page costs what the first does.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from desktop_sd.library.records import Filters

_TOKEN = re.compile(r"\w+", re.UNICODE)
MAX_TOKENS = 16


def fts_query(text: str) -> str | None:
    """``red  cat!`` -> ``"red"* AND "cat"*``: every word must match, as a prefix; None if no words.

    Each word is quoted, so FTS5 syntax typed by the user (``AND``, ``:``,
    ``"``, ``*``) is matched as text and can never make the query invalid.
    """
    tokens = _TOKEN.findall(text or "")[:MAX_TOKENS]
    if not tokens:
        return None
    return " AND ".join(f'"{token}"*' for token in tokens)


def _tag_query(tag: str) -> str | None:
    tokens = _TOKEN.findall(tag)
    if not tokens:
        return None
    phrase = " ".join(tokens)
    return f'tags : "{phrase}"'


def _epoch(value: datetime) -> float:
    return value.timestamp()  # naive datetimes are local time, as the user picked them


def build_where(text: str, filters: Filters | None) -> tuple[str, str | None, list[Any]]:
    """``(conditions on images, FTS match or None, parameters for the conditions)``."""
    filters = filters or Filters()
    conditions: list[str] = []
    params: list[Any] = []
    if filters.model:
        conditions.append("images.model = ?")
        params.append(filters.model)
    if filters.mode is not None:
        conditions.append("images.mode = ?")
        params.append(str(filters.mode))
    if filters.date_from is not None:
        conditions.append("images.created >= ?")
        params.append(_epoch(filters.date_from))
    if filters.date_to is not None:
        conditions.append("images.created < ?")
        params.append(_epoch(filters.date_to))
    if filters.favourite:
        conditions.append("images.favourite = 1")
    if filters.size is not None:
        conditions.append("images.width = ? AND images.height = ?")
        params += [int(filters.size[0]), int(filters.size[1])]
    if filters.min_rating > 0:
        conditions.append("images.rating >= ?")
        params.append(int(filters.min_rating))
    matches = [q for q in (fts_query(text), _tag_query(filters.tag) if filters.tag else None) if q]
    match = " AND ".join(f"({m})" for m in matches) if matches else None
    return " AND ".join(conditions), match, params


def page_sql(
    text: str,
    filters: Filters | None,
    before_id: int | None,
    limit: int,
    offset: int = 0,
    columns: str = "images.id",
    only_ids: list[int] | None = None,
) -> tuple[str, list[Any]]:
    """A query for one page of matching images, newest first (among ``only_ids`` when given)."""
    where, match, params = build_where(text, filters)
    conditions = [where] if where else []
    if only_ids is not None:
        conditions.append(f"images.id IN ({','.join(str(int(i)) for i in only_ids) or 'NULL'})")
    args: list[Any] = []
    if match is not None:
        source = "images_fts CROSS JOIN images ON images.id = images_fts.rowid"
        conditions.insert(0, "images_fts MATCH ?")
        args.append(match)
        key = "images_fts.rowid"  # lets FTS5 walk its own index newest first
    else:
        source = "images"
        key = "images.id"
    args += params
    if before_id is not None:
        conditions.append(f"{key} < ?")
        args.append(int(before_id))
    clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = f"SELECT {columns} FROM {source}{clause} ORDER BY {key} DESC LIMIT ? OFFSET ?"
    return sql, [*args, int(limit), int(offset)]


def count_sql(text: str, filters: Filters | None, newer_than: int | None = None) -> tuple[str, list[Any]]:
    """Count the matches (those newer than an image, when given: that image's row in the gallery)."""
    where, match, params = build_where(text, filters)
    if newer_than is not None:
        where = " AND ".join(w for w in (where, f"images.id > {int(newer_than)}") if w)
    if match is None:
        clause = f" WHERE {where}" if where else ""
        return f"SELECT count(*) FROM images{clause}", params
    if not where:
        return "SELECT count(*) FROM images_fts WHERE images_fts MATCH ?", [match]
    sql = (
        # CROSS JOIN keeps the full-text match outermost: the planner would otherwise run it once per row.
        "SELECT count(*) FROM images_fts CROSS JOIN images ON images.id = images_fts.rowid "
        f"WHERE images_fts MATCH ? AND {where}"
    )
    return sql, [match, *params]
