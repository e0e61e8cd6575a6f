"""``desktop-sd library ...``: import images into the history, search it, show an image's parameters, check it.

For scripts: results on stdout (one line per image, or one JSON object per
line with ``--json``), progress and problems on stderr; a failure exits
non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from desktop_sd.core.errors import DesktopSDError

PAGE = 500  # records fetched per query while listing


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("library", help="import images into the history, search it, check it")
    parser.add_argument("--library", type=Path, help="history folder (default: the user's library folder)")
    commands = parser.add_subparsers(dest="library_command", metavar="ACTION", required=True)

    importing = commands.add_parser("import", help="copy image files and folders (recursively) into the history")
    importing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    importing.set_defaults(func=run_import)

    search = commands.add_parser("search", help="images whose prompt, model, seed... match; no query lists all")
    search.add_argument("query", nargs="?", default="")
    search.add_argument("--json", action="store_true", help="one JSON object per line")
    search.set_defaults(func=run_search)

    show = commands.add_parser("show", help="the generation parameters an image file carries")
    show.add_argument("path", type=Path)
    show.add_argument("--json", action="store_true", help="as one JSON object")
    show.set_defaults(func=run_show)

    check = commands.add_parser("check", help="check the database and every file against its record")
    check.set_defaults(func=run_check)

    rebuild = commands.add_parser(
        "rebuild", help="rebuild a damaged history from its images (the old database is kept aside)"
    )
    rebuild.set_defaults(func=run_rebuild)


def _open(args: argparse.Namespace, reconcile: bool = True) -> Any:
    from desktop_sd.library.store import Library

    return Library.open(args.library, reconcile=reconcile)


def _fail(exc: BaseException) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def run_import(args: argparse.Namespace) -> int:
    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    try:
        with _open(args) as library:
            report = library.import_files(args.paths, on_file=progress)
    except DesktopSDError as exc:
        return _fail(exc)
    for path in report.already:
        print(f"already in the history: {path}")
    for path, why in report.skipped:
        print(f"skipped: {path}: {why}")
    print(f"imported {len(report.added)}, already in the history {len(report.already)}, skipped {len(report.skipped)}")
    return 0


def _line(record: Any) -> dict[str, Any]:
    return {"path": str(record.path), "prompt": record.prompt, "seed": record.seed, "model": record.model}


def run_search(args: argparse.Namespace) -> int:
    try:
        with _open(args, reconcile=False) as library:
            offset = 0
            while True:
                page = library.search(args.query, offset=offset, limit=PAGE)
                for record in page:
                    item = _line(record)
                    if args.json:
                        print(json.dumps(item, ensure_ascii=False))
                    else:
                        seed = "" if item["seed"] is None else item["seed"]
                        prompt = " ".join(str(item["prompt"]).split())  # one line per image
                        print(f"{item['path']}\t{prompt}\t{seed}\t{item['model']}")
                if len(page) < PAGE:
                    return 0
                offset += PAGE
    except DesktopSDError as exc:
        return _fail(exc)


def parameters_dict(parsed: Any) -> dict[str, Any]:
    """A ``ParsedParameters`` as plain JSON-able data (the raw text left out)."""
    return {
        "source": parsed.source,
        "prompt": parsed.prompt,
        "negative_prompt": parsed.negative_prompt,
        "model": parsed.model,
        "width": parsed.width,
        "height": parsed.height,
        "steps": parsed.steps,
        "cfg_scale": parsed.cfg_scale,
        "seed": parsed.seed,
        "sampler": parsed.sampler,
        "scheduler": parsed.scheduler,
        "strength": parsed.strength,
        "mode": str(parsed.mode),
        "extra": dict(parsed.extra),
    }


def run_show(args: argparse.Namespace) -> int:
    from desktop_sd.library.metadata import read_parameters

    if not args.path.is_file():
        return _fail(DesktopSDError(f"{args.path} is not a file."))
    parsed = read_parameters(args.path)
    if parsed is None:
        print(f"{args.path} carries no generation parameters.", file=sys.stderr)
        return 1
    data = parameters_dict(parsed)
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    for key, value in data.items():
        if key != "extra" and value not in (None, ""):
            print(f"{key}: {value}")
    for key, value in data["extra"].items():
        print(f"{key}: {value}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from desktop_sd.library.check import check_library

    try:
        with _open(args, reconcile=False) as library:
            report = check_library(library)
    except DesktopSDError as exc:
        return _fail(exc)
    for problem in report.database:
        print(f"database: {problem}")
    for path in report.missing:
        print(f"missing: {path}")
    for path, why in report.damaged:
        print(f"damaged: {path}: {why}")
    for path in report.unrecorded:
        print(f"not in the history: {path}")
    verdict = "ok" if report.ok else "problems found"
    print(f"checked {report.checked} images: {verdict}", file=sys.stderr)
    return 0 if report.ok else 1


def run_rebuild(args: argparse.Namespace) -> int:
    """Start a damaged history afresh from its images, which carry their parameters."""
    from desktop_sd.library.store import Library

    try:
        with Library.rebuild(args.library) as library:
            report = library.last_reconcile
    except DesktopSDError as exc:
        return _fail(exc)
    images = f"{report.indexed} image" + ("" if report.indexed == 1 else "s")
    print(f"Rebuilt the history in {library.folder} from {images}.")
    for path, reason in report.skipped:
        print(f"note: skipped {path}: {reason}", file=sys.stderr)
    return 0
