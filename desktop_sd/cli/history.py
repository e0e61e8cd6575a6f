"""``desktop-sd history ...``: look after the image history from the command line.

``rebuild`` starts a damaged history afresh from its images, which carry
their parameters; the damaged database is kept beside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop_sd.core.errors import DesktopSDError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("history", help="look after the image history")
    commands = parser.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    rebuild = commands.add_parser(
        "rebuild", help="rebuild a damaged history from its images (the old database is kept aside)"
    )
    rebuild.add_argument("--library", type=Path, help="history folder (default: the user's library folder)")
    rebuild.set_defaults(func=run_rebuild)


def run_rebuild(args: argparse.Namespace) -> int:
    from desktop_sd.library.store import Library

    try:
        with Library.rebuild(args.library) as library:
            report = library.last_reconcile
    except DesktopSDError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    images = f"{report.indexed} image" + ("" if report.indexed == 1 else "s")
    print(f"Rebuilt the history in {library.folder} from {images}.")
    for path, reason in report.skipped:
        print(f"note: skipped {path}: {reason}", file=sys.stderr)
    return 0
