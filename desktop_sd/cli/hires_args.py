"""The hires fix's options for ``desktop-sd generate`` (``--hires-scale`` and the rest), from the parameter table."""

from __future__ import annotations

import argparse
from typing import Any

from desktop_sd.core.params import HIRES_PARAMS, Kind, NumberParam, number_text


def add_hires_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("hires fix (text-to-image: generate, upscale, then refine with img2img)")
    for spec in HIRES_PARAMS:
        if isinstance(spec, NumberParam):
            group.add_argument(
                spec.flag,
                dest=spec.name,
                type=int if spec.kind is Kind.INT else float,
                default=spec.default,
                help=f"{spec.help}; {number_text(spec.minimum)}-{number_text(spec.maximum)} "
                f"(default: {number_text(spec.default)})",
            )
        else:
            group.add_argument(
                spec.flag, dest=spec.name, default=spec.default, help=f"{spec.help} (default: {spec.default})"
            )


def hires_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The request fields the hires options give."""
    return {spec.name: getattr(args, spec.name) for spec in HIRES_PARAMS}
