"""``desktop-sd --selftest`` (or ``desktop-sd selftest``): check an install end to end.

Builds a tiny random-weight model (nothing is downloaded), generates through the
real engine on the best device (txt2img, then inpaint), builds the main window
offscreen when there is no display, and checks where user files go. Prints what
it found and exits 0, or non-zero naming each check that failed and why.

It exists mainly for the frozen app: a bundle that starts but lacks a module,
a piece of package metadata or a Qt plugin fails here, not on a user's first
generation. Model, settings and history it makes live in a temp folder that is
removed afterwards, so running it leaves nothing behind.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TextIO

import desktop_sd
from desktop_sd.core import paths

Check = Callable[[], list[tuple[str, str]]]

SIZE = 64  # the tiny model's native size: 8x8 latents
STEPS = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("selftest", help="check the install end to end (same as --selftest)")
    parser.add_argument("--device", default="auto", help="auto (default), cuda, mps or cpu")
    parser.add_argument("--no-gui", action="store_true", help="skip the window check")
    parser.set_defaults(func=lambda args: run_selftest(device=args.device, gui=not args.no_gui))


def run_selftest(device: str = "auto", gui: bool = True, out: TextIO | None = None) -> int:
    """Run every check, print a report; 0 when all passed, 1 otherwise."""
    out = out or sys.stdout
    # Library advice (optional packages, progress bars) is noise in this report.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    frozen = bool(getattr(sys, "frozen", False))
    print(f"Desktop SD {desktop_sd.__version__} self-test ({'bundled app' if frozen else 'Python install'})", file=out)
    found: dict[str, Any] = {}
    # (name, check, whether it runs in a throwaway home): the folders check looks at the real folders.
    checks: list[tuple[str, Check, bool]] = [
        ("libraries", lambda: _libraries(found), False),
        ("folders", _folders, False),
        ("resources", _resources, False),
        ("generation", lambda: _generation(device, found), True),
    ]
    if gui:
        checks.append(("window", _window, True))
    failures: list[str] = []
    for name, check, isolated in checks:
        started = time.perf_counter()
        try:
            with _throwaway_home() if isolated else nullcontext():
                rows = check()
        except Exception as exc:
            reason = _reason(exc)
            failures.append(f"{name}: {reason}")
            print(f"  {name:<13} FAILED: {reason}", file=out, flush=True)
            print(f"--- {name} failed; details:\n{traceback.format_exc()}---", file=sys.stderr, flush=True)
            continue
        for label, value in rows:
            print(f"  {label:<13} {value}", file=out, flush=True)
        if name == "generation":
            print(f"  {'time':<13} {time.perf_counter() - started:.1f} s", file=out, flush=True)
    if failures:
        print(f"Self-test FAILED ({len(failures)} of {len(checks)} checks):", file=out)
        for failure in failures:
            print(f"  - {failure}", file=out)
        return 1
    print("Self-test passed.", file=out)
    return 0


def _reason(exc: BaseException) -> str:
    """One line for the report; a missing module in a bundle gets a hint, since that is the usual cause."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ModuleNotFoundError) and getattr(sys, "frozen", False):
        return f"{text} (the bundle lacks this module: rebuild it with packaging/build.sh)"
    if isinstance(exc, ImportError):
        return f"{text} (reinstall Desktop SD)"
    return text


@contextmanager
def _throwaway_home() -> Iterator[None]:
    """Point the app's folders and the Hugging Face cache at a temp folder for the duration, offline."""
    saved = {name: os.environ.get(name) for name in ("DESKTOP_SD_HOME", "HF_HOME", "HF_HUB_OFFLINE")}
    with tempfile.TemporaryDirectory(prefix="desktop-sd-selftest-") as tmp:
        os.environ["DESKTOP_SD_HOME"] = str(Path(tmp) / "home")
        os.environ["HF_HOME"] = str(Path(tmp) / "hf")
        os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _libraries(found: dict[str, Any]) -> list[tuple[str, str]]:
    import diffusers
    import PySide6
    import torch
    import transformers
    from PySide6 import QtCore

    found["torch"] = torch
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU build"
    return [
        ("python", f"{platform.python_version()} on {platform.system()} {platform.machine()}"),
        ("torch", f"{torch.__version__} ({build})"),
        ("diffusers", diffusers.__version__),
        ("transformers", transformers.__version__),
        ("PySide6", f"{PySide6.__version__} (Qt {QtCore.qVersion()})"),
    ]


def _folders() -> list[tuple[str, str]]:
    """User files go to the user's folders; a bundle never writes inside itself."""
    bundle = _bundle_dir()
    folders = {
        "data": paths.data_dir(),
        "config": paths.config_dir(),
        "cache": paths.cache_dir(),
        "logs": paths.log_dir(),
    }
    if bundle is not None:
        inside = [f"{kind} ({folder})" for kind, folder in folders.items() if folder.resolve().is_relative_to(bundle)]
        if inside:
            raise RuntimeError(f"user folders inside the app's own folder {bundle}: {', '.join(inside)}")
    for kind, folder in folders.items():
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"the {kind} folder {folder} is not writable: fix its permissions")
    return [("user data", str(folders["data"])), ("settings", str(folders["config"]))]


def _bundle_dir() -> Path | None:
    """The frozen app's own folder: the one-folder root beside the executable, or the macOS ``.app``."""
    if not getattr(sys, "frozen", False):
        return None
    folder = Path(sys.executable).resolve().parent
    if folder.name == "MacOS" and folder.parent.name == "Contents":
        return folder.parent.parent
    return folder


def _resources() -> list[tuple[str, str]]:
    folder = paths.resources_dir()
    needed = [
        folder / "icons" / "app" / "desktop-sd-256.png",
        folder / "model-configs" / "sd1" / "model_index.json",
        folder / "model-configs" / "flux" / "tokenizer_2" / "tokenizer.json",  # T5's, for SD 3 / Flux single files
    ]
    missing = [str(p.relative_to(folder)) for p in needed if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"resources folder {folder} lacks {', '.join(missing)}")
    return [("resources", str(folder))]


def _generation(device: str, found: dict[str, Any]) -> list[tuple[str, str]]:
    """txt2img then inpaint on a tiny random model, through the engine the app uses."""
    from PIL import Image

    from desktop_sd.core.request import GenerationRequest, Mode
    from desktop_sd.engine import Engine
    from desktop_sd.engine.random_models import save_pipeline
    from desktop_sd.models.resolve import resolve_model

    _quiet_libraries()
    model = save_pipeline(Path(os.environ["DESKTOP_SD_HOME"]) / "tiny-sd", "tiny")
    engine = Engine(resolve=resolve_model, device=device)
    steps: list[int] = []
    request = GenerationRequest(
        mode=Mode.TXT2IMG,
        prompt="a lighthouse at dusk",
        model=str(model),
        width=SIZE,
        height=SIZE,
        steps=STEPS,
        seed=7,
        device=device,
    )
    try:
        result = engine.generate(request, lambda step, total, preview: steps.append(step), threading.Event())
        image = result.images[0]
        if image.size != (SIZE, SIZE):
            raise RuntimeError(f"the engine returned a {image.size[0]}x{image.size[1]} image, not {SIZE}x{SIZE}")
        if not steps:
            raise RuntimeError("the engine reported no denoising steps")
        mask = Image.new("L", (SIZE, SIZE), 0)
        mask.paste(255, (16, 16, 48, 48))
        inpaint = request.replace(mode=Mode.INPAINT, init_image=image, mask=mask, seed=8)
        patched = engine.generate(inpaint, lambda *_: None, threading.Event()).images[0]
        outside = _changed_outside(image, patched, mask)
        if outside:
            raise RuntimeError(f"inpainting changed {outside} pixels away from the mask")
        status = engine.status()
    finally:
        engine.unload()
    torch = found.get("torch")
    name = status.device_name
    if status.free_vram_mb is not None and result.device != "cpu":
        name += f", {status.free_vram_mb} MB free"
    if result.device == "cpu" and torch is not None:
        name += f", {torch.get_num_threads()} threads"
    return [
        ("device", f"{result.device} ({name})"),
        ("memory tier", str(result.tier)),
        ("image", f"{image.size[0]}x{image.size[1]} {image.mode}, {len(steps)} steps; inpaint kept unmasked pixels"),
    ]


def _quiet_libraries() -> None:
    """No progress bars or advice from diffusers and transformers in the report."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _changed_outside(before: Any, after: Any, mask: Any) -> int:
    """How many pixels differ between two images farther from the mask than its soft edge can reach."""
    from PIL import ImageFilter

    from desktop_sd.core.params import MASK_FEATHER

    reach = mask.filter(ImageFilter.MaxFilter(2 * MASK_FEATHER.maximum + 1))
    a, b, m = before.convert("RGB").load(), after.convert("RGB").load(), reach.load()
    width, height = before.size
    return sum(1 for y in range(height) for x in range(width) if m[x, y] == 0 and a[x, y] != b[x, y])


def _window() -> list[tuple[str, str]]:
    """Build the main window (not shown), offscreen when there is no display to show it on."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QImageReader

    from desktop_sd.cli.gui import build_window

    app, window = build_window([])
    try:
        title = window.windowTitle().replace("[*]", "")
        if "Desktop SD" not in title:
            raise RuntimeError(f"the main window's title is {title!r}")
        if app.windowIcon().isNull():
            raise RuntimeError("the app icon did not load (Qt's PNG support or resources/icons is missing)")
        formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
        lacking = sorted({"png", "jpg", "svg"} - formats)
        if lacking:
            raise RuntimeError(f"Qt cannot read {', '.join(lacking)} images (image-format plugins are missing)")
        platform_name = app.platformName()
    finally:
        window.shutdown()
        window.deleteLater()
        app.processEvents()
    return [("window", f"{title.strip()!r} built on Qt platform '{platform_name}'")]
