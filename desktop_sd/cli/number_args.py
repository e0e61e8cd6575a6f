"""A command-line option for a numeric parameter, its type, default, range and unit from the parameter table."""

from __future__ import annotations

import argparse
from typing import Any

from desktop_sd.core.params import Kind, NumberParam, number_text


def add_number_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    spec: NumberParam[int] | NumberParam[float],
    derived: str = "",
    dest: str | None = None,
) -> None:
    """Add ``spec.flag``. ``derived`` says what the option means when left out, for one whose default depends
    on the other arguments (the init image's size, a random seed, the upscaler's own factor); its value is
    then None. ``dest``: the attribute to store it in, when not the one argparse names after the flag."""
    unit = f" {spec.unit}" if spec.unit else ""
    named: dict[str, Any] = {"dest": dest} if dest else {}
    parser.add_argument(
        spec.flag,
        type=int if spec.kind is Kind.INT else float,
        default=None if derived else spec.default,
        help=f"{spec.help}; {number_text(spec.minimum)}-{number_text(spec.maximum)}{unit}"
        f" (default: {derived or number_text(spec.default)})",
        **named,
    )
