"""The hires fix's options for ``desktop-sd generate`` (``--hires-scale`` and the rest), from the parameter table."""

from __future__ import annotations

import argparse
from typing import Any

from desktop_sd.cli.number_args import add_number_option
from desktop_sd.core.params import HIRES_PARAMS, NumberParam


def add_hires_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("hires fix (text-to-image: generate, upscale, then refine with img2img)")
    for spec in HIRES_PARAMS:
        if isinstance(spec, NumberParam):
            add_number_option(group, spec, dest=spec.name)
        else:
            group.add_argument(
                spec.flag, dest=spec.name, default=spec.default, help=f"{spec.help} (default: {spec.default})"
            )


def hires_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The request fields the hires options give."""
    return {spec.name: getattr(args, spec.name) for spec in HIRES_PARAMS}
