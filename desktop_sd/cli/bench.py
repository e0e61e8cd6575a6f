"""``desktop-sd bench engine|ui|gallery``: benchmarks that print figures and end with one JSON line."""

from __future__ import annotations

import argparse
import importlib

BENCHES = ("engine", "ui", "gallery")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark (engine, ui, gallery)")
    benches = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name in BENCHES:
        try:
            module = importlib.import_module(f"desktop_sd.cli.bench_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"desktop_sd.cli.bench_{name}":
                raise
            continue
        module.register(benches)
