"""``desktop-sd models ...``: list, download, import, remove and choose the default model.

Every failure exits non-zero with a one-line reason on stderr. ``convert-ckpt``
is the hidden child-process entry that converts a pickle checkpoint safely.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_sd.cli.models_upscalers import register_upscalers
from desktop_sd.core.errors import Cancelled, DesktopSDError

if TYPE_CHECKING:
    from desktop_sd.models.registry import Registry


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list, download, import and remove models")
    commands = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="installed models, one per line, starting with the id")
    listing.set_defaults(func=run_list)

    catalog = commands.add_parser("catalog", help="models offered for download")
    catalog.set_defaults(func=run_catalog)

    download = commands.add_parser("download", help="download a catalog model, a Hub repo, or a .safetensors URL")
    download.add_argument("what", metavar="ID_REPO_OR_URL", help="catalog id, owner/name, or https URL")
    download.add_argument("--file", help="the one .safetensors file of the repo to fetch")
    download.add_argument("--sha256", help="expected SHA-256 of a URL download (checked)")
    download.set_defaults(func=run_download)

    importing = commands.add_parser(
        "import",
        help="use a .safetensors/.ckpt file, a diffusers folder, or an app's folder; "
        "a LoRA, embedding or VAE file is copied into Desktop SD's folder for its kind",
    )
    importing.add_argument("path", type=Path)
    importing.add_argument(
        "--copy", action="store_true", help="copy into Desktop SD's folder instead of using in place"
    )
    importing.set_defaults(func=run_import)

    remove = commands.add_parser(
        "remove", help="remove a model (files Desktop SD downloaded are deleted), or an add-on as lora:NAME, vae:NAME"
    )
    remove.add_argument("id")
    remove.set_defaults(func=run_remove)

    default = commands.add_parser("default", help="show or set the default model")
    default.add_argument("id", nargs="?")
    default.set_defaults(func=run_default)

    offline = commands.add_parser("offline", help="show or set offline mode (no network at all)")
    offline.add_argument("state", nargs="?", choices=("on", "off"))
    offline.set_defaults(func=run_offline)

    clean = commands.add_parser("clean", help="delete unfinished downloads (they would otherwise resume)")
    clean.set_defaults(func=run_clean)

    register_upscalers(commands)

    convert = commands.add_parser("convert-ckpt")  # no help: hidden from the listing
    convert.add_argument("src")
    convert.add_argument("dst")
    convert.set_defaults(func=run_convert)


def _fail(exc: BaseException) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def _registry() -> Registry:
    """The registry; a repair of its damaged file is noted on stderr."""
    from desktop_sd.models.registry import Registry

    return Registry(on_notice=lambda text: print(f"note: {text}", file=sys.stderr))


def _prepare() -> None:
    from desktop_sd.models import network

    network.apply_environment(network.is_offline())


def run_list(args: argparse.Namespace) -> int:
    from desktop_sd.models.resolve import missing_parts
    from desktop_sd.models.transfer import human_size

    _prepare()
    try:
        registry = _registry()
        models = registry.installed()
        default = registry.default_model_id()
    except DesktopSDError as exc:
        return _fail(exc)
    _list_addons()
    if not models:
        print("No models installed. Download one with: desktop-sd models download sd-turbo", file=sys.stderr)
        return 0
    width = max(len(m.id) for m in models)
    why: list[str] = []  # SD 3 / Flux files that cannot run yet, and what they need
    for m in models:
        kind = str(m.family) + (" inpainting" if m.inpainting else "") if m.kind == "checkpoint" else m.kind
        flags = (" (default)" if m.id == default else "") + ("" if m.available else " (files missing)")
        lacking = missing_parts(m) if m.available else ""
        if lacking:
            flags += " (needs its text encoders and VAE)"
            why.append(f"{m.id}: {lacking}")
        size = human_size(m.size_bytes)
        print(f"{m.id:<{width}}  {kind:<14}  {size:>9}  {m.source_label}: {m.path}{flags}")
    for line in why:
        print(line, file=sys.stderr)
    return 0


def run_catalog(args: argparse.Namespace) -> int:
    from desktop_sd.models.catalog import installed_entries, load_catalog
    from desktop_sd.models.transfer import human_size

    try:
        entries = load_catalog()
        installed = installed_entries(entries, _registry().installed())
    except DesktopSDError as exc:
        return _fail(exc)
    width = max(len(e.id) for e in entries)
    for e in entries:
        mark = "installed" if e.id in installed else f"~{human_size(e.size_bytes)}"
        print(f"{e.id:<{width}}  {mark:>10}  {e.name} [{e.licence}]: {e.purpose}")
    return 0


class _ConsoleProgress:
    """One status line on stderr, rewritten in place."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = False

    def __call__(self, progress: object) -> None:
        from desktop_sd.models.progress import Progress, format_eta
        from desktop_sd.models.transfer import human_size

        assert isinstance(progress, Progress)
        total = f" of {human_size(progress.total)}" if progress.total else ""
        speed = f", {human_size(progress.bytes_per_s)}/s" if progress.bytes_per_s else ""
        eta = format_eta(progress.seconds_left)
        line = f"{self.label}: {human_size(progress.done)}{total}{speed}{', ' + eta if eta else ''}"
        if sys.stderr.isatty():
            print(f"\r{line:<79}", end="", file=sys.stderr, flush=True)
            self.shown = True

    def end(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def run_download(args: argparse.Namespace) -> int:
    from desktop_sd.models import install
    from desktop_sd.models.progress import Meter

    _prepare()
    try:
        target = install.parse_target(args.what, file=args.file, sha256=args.sha256)
    except DesktopSDError as exc:
        return _fail(exc)
    console = _ConsoleProgress(target.label)
    meter = Meter(console, rate=4.0)
    try:
        model = install.install(target, _registry(), meter, threading.Event())
    except KeyboardInterrupt:
        console.end()
        print("Interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    except (DesktopSDError, Cancelled) as exc:
        console.end()
        return _fail(exc)
    console.end()
    print(f"{model.id}  installed ({model.path})")
    return 0


def _list_addons() -> None:
    """LoRAs, embeddings and VAEs, one a line, starting with ``kind:name`` (what ``remove`` takes)."""
    from desktop_sd.models.addons import AddonKind, find_addons
    from desktop_sd.models.transfer import human_size

    for kind in AddonKind:
        for addon in find_addons(kind):
            where = "" if addon.owned else " (in another app's folder)"
            note = f"  [{addon.problem}]" if addon.problem else ""
            triggers = f"  triggers: {', '.join(addon.triggers[:5])}" if addon.triggers else ""
            ident = f"{kind}:{addon.name}"
            size = human_size(addon.size_bytes)
            print(f"{ident:<30}  {addon.family_label:<14}  {size:>9}  {addon.path}{where}{triggers}{note}")


def run_import(args: argparse.Namespace) -> int:
    from desktop_sd.models.addons import describe, import_addon
    from desktop_sd.models.importer import import_path

    _prepare()
    if args.path.is_file() and describe(args.path) is not None:  # a LoRA, embedding or VAE
        try:
            addon = import_addon(args.path)
        except DesktopSDError as exc:
            return _fail(exc)
        print(f"{addon.kind}:{addon.name}  {addon.family_label}  {addon.path}")
        return 0
    try:
        models = import_path(args.path, copy=args.copy, registry=_registry())
    except DesktopSDError as exc:
        return _fail(exc)
    for model in models:
        print(f"{model.id}  {model.family}{' inpainting' if model.inpainting else ''}  {model.path}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    kind, sep, name = str(args.id).partition(":")
    if sep and kind in ("lora", "embedding", "vae"):
        return _remove_addon(kind, name)

    try:
        model = _registry().remove(args.id)
    except DesktopSDError as exc:
        return _fail(exc)
    action = "deleted" if model.owned else "forgotten (its files were left in place)"
    print(f"{model.id}  {action}")
    return 0


def _remove_addon(kind: str, name: str) -> int:
    from desktop_sd.models.addons import AddonKind, remove_addon, resolve_addon

    try:
        addon = resolve_addon(AddonKind(kind), name)
        remove_addon(addon)
    except DesktopSDError as exc:
        return _fail(exc)
    print(f"{kind}:{addon.name}  deleted")
    return 0


def run_default(args: argparse.Namespace) -> int:

    registry = _registry()
    try:
        if args.id:
            registry.set_default(args.id)
        current = registry.default_model_id()
    except DesktopSDError as exc:
        return _fail(exc)
    if current is None:
        print("No models installed.", file=sys.stderr)
        return 1
    print(current)
    return 0


def run_offline(args: argparse.Namespace) -> int:
    from desktop_sd.core.settings import Settings
    from desktop_sd.models import network

    settings = Settings.load()
    if args.state:
        settings.offline = args.state == "on"
        try:
            settings.save()
        except DesktopSDError as exc:
            return _fail(exc)
    print("on" if network.offline_setting(settings) else "off")
    return 0


def run_clean(args: argparse.Namespace) -> int:
    from desktop_sd.models.install import clean_partials
    from desktop_sd.models.transfer import human_size

    try:
        freed = clean_partials()
    except OSError as exc:
        return _fail(exc)
    print(f"freed {human_size(freed)}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from desktop_sd.engine import pickle_to_safetensors

    return pickle_to_safetensors.main([args.src, args.dst])
