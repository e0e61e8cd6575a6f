"""Command line: no arguments opens the GUI; subcommands script the engine.

This package is the composition root: it is the one place allowed to wire the
engine, the model registry, the library and the GUI together. Each subcommand
lives in its own module with ``register(subparsers)``; heavy imports happen
inside the command, never at import time.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import desktop_sd

# module name -> subcommand; each module defines register(subparsers)
COMMAND_MODULES = ("generate", "upscale", "models", "library", "servers", "bench", "selftest")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="desktop-sd",
        description="Local, offline Stable Diffusion. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"desktop-sd {desktop_sd.__version__}")
    parser.add_argument("--selftest", action="store_true", help="check the install end to end and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"desktop_sd.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"desktop_sd.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def _opens_the_window(argv: list[str]) -> bool:
    """No command named: the arguments are the window's own (files to open, ``--model PATH``)."""
    top_level = {"-h", "--help", "--version", "--selftest"}
    return not any(arg in COMMAND_MODULES or arg in top_level for arg in argv)


def main(argv: list[str]) -> int:
    """Run the command (or the window) in ``argv``; returns the exit status. A problem that stops a
    command before it can report it itself (an unusable user folder) is one ``error:`` line."""
    from desktop_sd.core.errors import DesktopSDError

    try:
        return _run(argv)
    except DesktopSDError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if _opens_the_window(argv):
            from desktop_sd.cli.gui import show_start_error

            show_start_error(str(exc))
        return 1


def _run(argv: list[str]) -> int:
    from desktop_sd.core.settings import Settings
    from desktop_sd.models import network

    # Read once, here: a file found damaged is moved aside by this read, so its notice must travel on
    # to whoever tells the user (the window, or stderr), not be lost in a throwaway read.
    settings = Settings.load()
    # Before diffusers/transformers/huggingface_hub are imported: they read these once.
    network.apply_environment(network.is_offline(settings))
    if _opens_the_window(argv):
        from desktop_sd.cli.gui import run_gui

        return run_gui(argv, settings)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command is None and not args.selftest:
        from desktop_sd.cli.gui import run_gui

        return run_gui(rest, settings)
    if settings.notice:
        print(f"note: {settings.notice}", file=sys.stderr)
    if args.selftest:
        from desktop_sd.cli.selftest import run_selftest

        return run_selftest()
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
