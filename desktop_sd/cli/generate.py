"""``desktop-sd generate``: one request from the command line, saved as PNG with its metadata.

The mode follows the arguments: an init image means img2img, a mask with it
inpaint, borders outpaint. The images are also saved into the history, as the
window saves its own, unless ``--no-history``. Progress goes to stderr; the paths of the saved
images go to stdout, one a line. Errors are one ``error:`` line on stderr,
exit code 2 for bad input and 1 for anything else.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from desktop_sd.cli.hires_args import add_hires_arguments, hires_fields
from desktop_sd.cli.number_args import add_number_option
from desktop_sd.cli.output import print_notes, step_printer, write_png
from desktop_sd.cli.speed_args import add_speed_arguments, speed_options
from desktop_sd.core.backend import Backend
from desktop_sd.core.errors import DesktopSDError, InputError
from desktop_sd.core.params import (
    BATCH_SIZE,
    CFG_SCALE,
    CLIP_SKIP,
    HEIGHT,
    MASK_FEATHER,
    NEGATIVE_PROMPT,
    OUTPAINT_OVERLAP,
    PROMPT,
    SCHEDULER,
    SEED,
    STEPS,
    STRENGTH,
    WIDTH,
    number_text,
)
from desktop_sd.core.request import Borders, GenerationRequest, GenerationResult, Mode, strength_for
from desktop_sd.core.validation import check_request

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate images from a prompt (txt2img, img2img, inpaint, outpaint)",
        description="Generate images with a local model, or on a ComfyUI server with --server, "
        "and save them as PNG with their parameters.",
    )
    parser.add_argument(
        "--model",
        required=True,
        help="diffusers folder, .safetensors file or installed repo id; with --server, the server's checkpoint name",
    )
    parser.add_argument(PROMPT.flag, required=True, help=PROMPT.help)
    parser.add_argument(NEGATIVE_PROMPT.flag, default=NEGATIVE_PROMPT.default, help=NEGATIVE_PROMPT.help)
    parser.add_argument("--init-image", type=Path, help="start from this image (img2img)")
    parser.add_argument("--mask", type=Path, help="repaint where this mask is white (inpaint; needs --init-image)")
    add_number_option(
        parser, STRENGTH, f"{number_text(STRENGTH.default)}, or {number_text(STRENGTH.maximum)} for outpainting"
    )
    parser.add_argument("--outpaint", metavar="L,T,R,B", help="extend the init image by these borders in pixels")
    add_number_option(parser, WIDTH, f"{WIDTH.default}, or the init image's size")
    add_number_option(parser, HEIGHT, f"{HEIGHT.default}, or the init image's size")
    add_number_option(parser, STEPS)
    add_number_option(parser, CFG_SCALE)
    add_number_option(parser, SEED, "a random seed, printed")
    parser.add_argument(
        SCHEDULER.flag,
        default=SCHEDULER.default,
        help=f"{SCHEDULER.help}; one of: {', '.join(SCHEDULER.choices)} (default: {SCHEDULER.default})",
    )
    add_number_option(parser, BATCH_SIZE)
    add_number_option(parser, MASK_FEATHER)
    add_number_option(parser, OUTPAINT_OVERLAP)
    parser.add_argument(  # as _number_argument, with a short metavar so that the help stays on one line
        CLIP_SKIP.flag,
        type=int,
        default=CLIP_SKIP.default,
        metavar="N",
        help=f"{CLIP_SKIP.help}; {CLIP_SKIP.minimum}-{CLIP_SKIP.maximum} (default: {CLIP_SKIP.default})",
    )
    parser.add_argument(
        "--plain-prompt",
        action="store_true",
        help="read the prompts as plain text: no (word:1.2) weights or BREAK, and only the first 75 tokens",
    )
    add_hires_arguments(parser)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    add_speed_arguments(parser)
    parser.add_argument(
        "--lora",
        action="append",
        metavar="NAME:WEIGHT",
        help="apply an installed LoRA (or a LoRA file) at this weight (default 1); repeat for several. "
        "<lora:NAME:WEIGHT> in the prompt works too",
    )
    parser.add_argument("--vae", metavar="NAME_OR_PATH", help="a separate VAE (installed name, file or folder)")
    parser.add_argument(
        "--server", metavar="NAME_OR_URL", help="generate on this ComfyUI server (see `desktop-sd servers`)"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="with --server: use a server on another machine even in offline mode",
    )
    parser.add_argument(
        "--out", type=Path, help="output PNG or folder (a batch adds -1, -2, ...); default: ./<time>-<seed>.png"
    )
    parser.add_argument("--library", type=Path, help="history folder (default: the user's library folder)")
    parser.add_argument(
        "--no-history", action="store_true", help="do not also save the images into the history (as the app does)"
    )
    parser.set_defaults(func=run)


def check_out(out: Path | None) -> None:
    """Refuse an ``--out`` below a file (``a/file.png/x.png``) before anything is generated."""
    if out is None:
        return
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"--out: {parent} is a file, not a folder. Choose another --out.")
            return


def run(args: argparse.Namespace) -> int:
    try:
        check_out(args.out)
        request, notices = build_request(args)
        check_request(request)  # bad input fails here, before torch is even imported
        print_notes(notices)
        return _generate(args, request)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DesktopSDError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def build_request(args: argparse.Namespace) -> tuple[GenerationRequest, list[str]]:
    """The request the arguments describe, and notices from opening the images."""
    from desktop_sd.core.images import open_image

    notices: list[str] = []
    prompt = _readable(args.prompt, PROMPT.flag, notices)
    negative = _readable(args.negative, NEGATIVE_PROMPT.flag, notices)
    init = mask = None
    borders = Borders()
    if args.mask is not None and args.init_image is None:
        raise InputError("--mask needs --init-image: the mask marks the part of that image to repaint.")
    if args.outpaint is not None:
        if args.init_image is None:
            raise InputError("--outpaint needs --init-image: the borders are added around that image.")
        try:
            borders = Borders.parse(args.outpaint)
        except ValueError as exc:
            raise InputError(f"--outpaint: {exc}.") from None
        if min(borders.left, borders.top, borders.right, borders.bottom) < 0:
            raise InputError(f"--outpaint borders must be 0 or more pixels (and none negative), got {args.outpaint}.")
    if args.init_image is not None:
        init, init_notices = open_image(args.init_image)
        notices += init_notices
    if args.mask is not None:
        mask = _open_mask(args.mask)

    if init is None:
        mode = Mode.TXT2IMG
        size = (WIDTH.default, HEIGHT.default)
    elif args.outpaint is not None:
        mode = Mode.OUTPAINT
        size = (init.width + borders.left + borders.right, init.height + borders.top + borders.bottom)
    else:
        mode = Mode.INPAINT if mask is not None else Mode.IMG2IMG
        size = init.size
    request = GenerationRequest(
        mode=mode,
        prompt=prompt,
        negative_prompt=negative,
        model=args.model,
        width=args.width if args.width is not None else size[0],
        height=args.height if args.height is not None else size[1],
        steps=args.steps,
        cfg_scale=args.cfg,
        seed=args.seed,
        scheduler=args.scheduler,
        strength=strength_for(mode, args.strength),
        init_image=init,
        mask=mask,
        outpaint=borders,
        batch_size=args.batch,
        mask_feather=args.feather,
        outpaint_overlap=args.overlap,
        device=args.device,
        loras=_lora_options(args.lora),
        vae=args.vae or "",
        clip_skip=args.clip_skip,
        prompt_weights=not args.plain_prompt,
        **hires_fields(args),
        fast_decode=args.fast_decode,
    )
    return request, notices


def _lora_options(values: list[str] | None) -> tuple[tuple[str, float], ...]:
    """``--lora NAME:WEIGHT`` options as (name, weight) pairs; a bad weight is bad input."""
    from desktop_sd.core.loras import merge_loras, parse_lora_option

    try:
        return merge_loras([parse_lora_option(v) for v in values or []])
    except ValueError as exc:
        raise InputError(f"--lora: {exc}.") from None


def _readable(text: str, flag: str, notices: list[str]) -> str:
    """Command-line text with bytes that were not UTF-8 (kept by Python as surrogate escapes) replaced by
    U+FFFD, noted: the tokenizer and the PNG writer take only real text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        notices.append(f"{flag} is not valid UTF-8 text: the bytes that could not be read were replaced with \ufffd.")
        try:
            data = text.encode("utf-8", "surrogateescape")  # the bytes as given, so each bad one becomes one mark
        except UnicodeEncodeError:  # surrogates that never were bytes
            data = text.encode("utf-8", "replace")
        return data.decode("utf-8", "replace")
    return text


def _open_mask(path: Path) -> Any:
    """A mask file as is (any mode): the engine thresholds and resizes it with notices."""
    from desktop_sd.core.images import read_image

    return read_image(path, "Mask")


def quiet_libraries() -> None:
    """Keep library chatter (import notes, loading bars) off the terminal: progress is ours to print."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def _backend(args: argparse.Namespace) -> Backend:
    """The local engine, or with ``--server`` the ComfyUI server (after the offline and http checks)."""
    if args.server is None:
        quiet_libraries()
        from desktop_sd.cli.local_engine import local_engine

        return local_engine(args.device, speed_options(args))
    from desktop_sd.cli.servers import connect
    from desktop_sd.core.settings import Settings
    from desktop_sd.models.network import is_offline
    from desktop_sd.remote.backend import ComfyBackend

    settings = Settings.load()
    return ComfyBackend(connect(settings, args.server, args.allow_remote, is_offline(settings)).client())


def _generate(args: argparse.Namespace, request: GenerationRequest) -> int:
    from desktop_sd.core.provenance import Provenance
    from desktop_sd.library.metadata import encode_png

    backend = _backend(args)
    started = time.perf_counter()
    result = backend.generate(request, step_printer("step"), threading.Event())
    print_notes(result.notices)
    if result.server:
        model_name = result.model_id
    else:
        model_name = Path(args.model).name if Path(args.model).exists() else args.model
    targets = output_paths(args.out, result.request.seed or 0, len(result.images))
    for i, (image, seed, target) in enumerate(zip(result.images, result.seeds, targets, strict=True)):
        single = result.request.replace(seed=seed, batch_size=1)
        write_png(target, encode_png(image, single, model_name, provenance=Provenance.of(result, i)))
    if not args.no_history:
        _save_in_history(args.library, result)
    if result.server:
        where = f"server {result.server}"
    else:
        where = result.device + (f" ({result.tier})" if result.device != "cpu" else "")
    print(
        f"done: {len(result.images)} image(s), seed {result.request.seed}, on {where}"
        + f", {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


def _save_in_history(folder: Path | None, result: GenerationResult) -> None:
    """Save the images into the history too, as the window does; a failure is a note (the files are written)."""
    from desktop_sd.core.provenance import Provenance
    from desktop_sd.library.store import Library

    try:
        with Library.open(folder, reconcile=False) as library:
            for i, (image, seed) in enumerate(zip(result.images, result.seeds, strict=True)):
                request = result.request.replace(seed=seed, batch_size=1)
                library.add(image, request, result.model_id, provenance=Provenance.of(result, i))
    except DesktopSDError as exc:
        print(f"note: The images were not saved in the history: {exc}", file=sys.stderr)


def output_paths(out: Path | None, seed: int, count: int) -> list[Path]:
    """Where each image goes: ``out`` itself for one image, ``out-1``, ``out-2``... for a batch; into
    ``out`` under the default name when it is a folder."""
    default_name = f"{time.strftime('%Y%m%d-%H%M%S')}-{seed}.png"
    if out is None:
        out = Path.cwd() / default_name
    elif out.is_dir():
        out = out / default_name
    if out.suffix.lower() != ".png":
        out = out.with_name(out.name + ".png")
    if count == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{i + 1}{out.suffix}") for i in range(count)]
