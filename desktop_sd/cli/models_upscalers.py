"""``desktop-sd models upscalers ...``: list, import and download upscaler models (ESRGAN, Real-ESRGAN, ...)."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from desktop_sd.core.errors import Cancelled, DesktopSDError


def register_upscalers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("upscalers", help="list, import and download upscaler models")
    actions = parser.add_subparsers(dest="upscalers_command", metavar="ACTION", required=True)
    actions.add_parser("list", help="installed upscalers (and those in linked A1111/ComfyUI folders)").set_defaults(
        func=run_list
    )
    actions.add_parser("catalog", help="upscalers offered for download").set_defaults(func=run_catalog)
    importing = actions.add_parser("import", help="copy a .pth or .safetensors upscaler into Desktop SD's folder")
    importing.add_argument("path", type=Path)
    importing.set_defaults(func=run_import)
    download = actions.add_parser("download", help="download a catalog upscaler")
    download.add_argument("id")
    download.set_defaults(func=run_download)


def _fail(exc: BaseException) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def _linked() -> list[Path]:
    from desktop_sd.models.registry import Registry

    return Registry(on_notice=lambda text: print(f"note: {text}", file=sys.stderr)).folders()


def run_list(args: argparse.Namespace) -> int:
    from desktop_sd.models.upscalers import list_upscalers, upscalers_dir

    try:
        found = list_upscalers(_linked())
    except DesktopSDError as exc:
        return _fail(exc)
    if not found:
        print(
            f"No upscalers installed. Download one (desktop-sd models upscalers download realesrgan-x4plus) or put "
            f"a .pth or .safetensors upscaler in {upscalers_dir()}.",
            file=sys.stderr,
        )
        return 0
    width = max(len(u.name) for u in found)
    for u in found:
        print(f"{u.name:<{width}}  {'linked' if u.linked else 'installed':<9}  {u.path}")
    return 0


def run_catalog(args: argparse.Namespace) -> int:
    from desktop_sd.models.transfer import human_size
    from desktop_sd.models.upscalers import load_upscaler_catalog, upscalers_dir

    try:
        entries = load_upscaler_catalog()
    except DesktopSDError as exc:
        return _fail(exc)
    width = max((len(e.id) for e in entries), default=0)
    for e in entries:
        mark = "installed" if (upscalers_dir() / e.file).is_file() else f"~{human_size(e.size_bytes)}"
        print(f"{e.id:<{width}}  {mark:>10}  {e.name} ({e.scale}x) [{e.licence}]: {e.purpose}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from desktop_sd.models.upscalers import import_upscaler

    try:
        imported = import_upscaler(args.path)
    except DesktopSDError as exc:
        return _fail(exc)
    print(f"{imported.name}  installed ({imported.path})")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from desktop_sd.models.progress import Meter, Progress
    from desktop_sd.models.transfer import human_size
    from desktop_sd.models.upscalers import download_upscaler, load_upscaler_catalog

    try:
        entry = next((e for e in load_upscaler_catalog() if e.id == args.id), None)
    except DesktopSDError as exc:
        return _fail(exc)
    if entry is None:
        ids = ", ".join(e.id for e in load_upscaler_catalog())
        return _fail(DesktopSDError(f"No upscaler {args.id!r} in the catalog; choose one of: {ids}."))

    def report(progress: Progress) -> None:
        if sys.stderr.isatty():
            line = f"{entry.name}: {human_size(progress.done)} of {human_size(progress.total)}"
            print(f"\r{line}", end="", file=sys.stderr, flush=True)

    try:
        sink = Meter(report, total=entry.size_bytes, rate=4.0)
        got = download_upscaler(entry, sink=sink, cancelled=threading.Event())
    except KeyboardInterrupt:
        print("\nInterrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    except (DesktopSDError, Cancelled) as exc:
        return _fail(exc)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"{got.name}  installed ({got.path})")
    return 0
