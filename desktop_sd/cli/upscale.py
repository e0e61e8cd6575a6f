"""``desktop-sd upscale``: make an image larger with an upscaler model, optionally refined in tiles.

``--model`` names an upscaler (a file, or a name in Models' upscaler folders) or ``Lanczos``. With
``--refine CHECKPOINT`` the enlarged image is then refined tile by tile with img2img (prompt,
strength, steps), which fits large images in little memory. Progress (tiles) goes to stderr, the
saved path to stdout; errors are one ``error:`` line, exit code 2 for bad input, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from desktop_sd.cli.number_args import add_number_option
from desktop_sd.core.errors import DesktopSDError, InputError
from desktop_sd.core.params import CFG_SCALE, NEGATIVE_PROMPT, PROMPT, SCHEDULER, SEED, STEPS
from desktop_sd.core.upscaling import REFINE_OVERLAP, REFINE_STRENGTH, REFINE_TILE, UPSCALE_SCALE

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "upscale",
        help="make an image larger with an upscaler model (ESRGAN, Real-ESRGAN, SwinIR, ...)",
        description="Upscale an image with an upscaler model, in tiles; with --refine, then refine it tile by "
        "tile with img2img (Ultimate SD Upscale style).",
    )
    parser.add_argument("image", type=Path, metavar="IN", help="the image to upscale")
    parser.add_argument(
        "--model", required=True, help="upscaler: a .pth/.safetensors file, an installed upscaler's name, or Lanczos"
    )
    parser.add_argument("--out", type=Path, required=True, help="output PNG")
    add_number_option(parser, UPSCALE_SCALE, "the upscaler's own factor", dest=UPSCALE_SCALE.name)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    refine = parser.add_argument_group("tiled refine (optional)")
    refine.add_argument(
        "--refine", metavar="CHECKPOINT", help="refine the upscaled image with this model, tile by tile"
    )
    refine.add_argument(PROMPT.flag, default="", help=PROMPT.help + " (for --refine)")
    refine.add_argument(NEGATIVE_PROMPT.flag, default=NEGATIVE_PROMPT.default, help=NEGATIVE_PROMPT.help)
    add_number_option(refine, REFINE_STRENGTH, dest=REFINE_STRENGTH.name)
    add_number_option(refine, STEPS, dest=STEPS.name)
    add_number_option(refine, CFG_SCALE, dest=CFG_SCALE.name)
    add_number_option(refine, SEED, "a random seed", dest=SEED.name)
    refine.add_argument(SCHEDULER.flag, default=SCHEDULER.default, help=SCHEDULER.help)
    add_number_option(refine, REFINE_TILE, dest=REFINE_TILE.name)
    add_number_option(refine, REFINE_OVERLAP, dest=REFINE_OVERLAP.name)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _upscale(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DesktopSDError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _upscale(args: argparse.Namespace) -> int:
    from desktop_sd.cli.generate import check_out, quiet_libraries
    from desktop_sd.cli.output import print_notes, step_printer, write_png
    from desktop_sd.core.images import open_image
    from desktop_sd.core.request import GenerationRequest, Mode
    from desktop_sd.core.upscaling import UpscaleRequest, check_upscale
    from desktop_sd.library.metadata import read_parameters
    from desktop_sd.library.upscaled import encode_upscaled

    check_out(args.out)
    image, notices = open_image(args.image)
    refine = None
    if args.refine is not None:
        refine = GenerationRequest(
            Mode.IMG2IMG,
            args.prompt,
            negative_prompt=args.negative,
            model=args.refine,
            steps=args.steps,
            cfg_scale=args.cfg_scale,
            seed=args.seed,
            scheduler=args.scheduler,
            strength=args.strength,
            device=args.device,
        )
    request = UpscaleRequest(
        image, args.model, args.scale, args.device, refine, tile_size=args.tile_size, tile_overlap=args.tile_overlap
    )
    check_upscale(request)  # bad input fails before torch is imported
    print_notes(notices)
    quiet_libraries()
    from desktop_sd.cli.local_engine import local_engine

    engine = local_engine(args.device)
    started = time.perf_counter()
    result = engine.upscale(request, step_printer("tile"), threading.Event())
    print_notes(result.notices)
    parsed = read_parameters(args.image)
    source = parsed.to_request() if parsed is not None else None
    out = args.out if args.out.suffix.lower() == ".png" else args.out.with_name(args.out.name + ".png")
    write_png(out, encode_upscaled(result, source))
    print(
        f"done: {result.image.width}x{result.image.height} ({result.scale:g}x), on {result.device}, "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0
