"""Speed options shared by the commands that run the local engine; their defaults come from the settings."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from desktop_sd.core.settings import CPU_PRECISIONS, Settings

if TYPE_CHECKING:
    from desktop_sd.engine.speed import SpeedOptions


def add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    settings = Settings.load()
    parser.add_argument(
        "--cpu-precision",
        choices=CPU_PRECISIONS,
        default=settings.cpu_precision,
        help="precision on the CPU: auto (bfloat16 where the CPU runs it natively, else float32), float32 or "
        f"bfloat16 (default from the settings: {settings.cpu_precision})",
    )
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=settings.compile_unet,
        help="torch.compile the UNet on a CUDA GPU: faster steps, but the first run takes minutes (cached after)",
    )
    parser.add_argument(
        "--fast-decode",
        action="store_true",
        help="decode with TAESD (installed with `desktop-sd models download taesd`): much faster, softer detail",
    )


def speed_options(args: argparse.Namespace) -> SpeedOptions:
    """The engine's speed options for parsed ``args`` (imports torch)."""
    from desktop_sd.engine.speed import SpeedOptions

    return SpeedOptions.automatic(args.cpu_precision, args.compile)


def speed_options_from(settings: Settings) -> SpeedOptions:
    """The window's engine options, from the settings (imports torch)."""
    from desktop_sd.engine.speed import SpeedOptions

    return SpeedOptions.automatic(settings.cpu_precision, settings.compile_unet)
