"""What goes into the app bundle, shared by the PyInstaller spec, the installers' scripts and their tests.

Names, the version and the file associations live here once, so the Linux
package, the Windows installer and the macOS ``.app`` cannot drift apart.
Importing this module needs only the standard library (PyInstaller is not
required), so the tests can check the installers without building anything.

Run it to print a value for the shell scripts: ``python packaging/bundle_config.py version``.
"""

from __future__ import annotations

import fnmatch
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

APP_NAME = "Desktop SD"  # window title, menu entry, .app name
EXE_NAME = "desktop-sd"  # executable, bundle folder, package name
CLI_EXE_NAME = "desktop-sd-cli"  # Windows only: a console twin of the windowed exe, for --selftest and scripts
BUNDLE_ID = "org.desktopsd.DesktopSD"  # macOS bundle identifier, also the Windows AppUserModelID
PUBLISHER = "Desktop SD contributors"
SUMMARY = "Local, offline Stable Diffusion: canvas with inpainting and outpainting, history gallery"
PROJECT_EXTENSION = ".sdproj"
PROJECT_MIME = "application/x-desktop-sd-project"
PROJECT_UTI = "org.desktopsd.project"
# Images the app can open, offered for "Open with" on every platform: (extension, MIME type, macOS UTI).
IMAGE_TYPES = (
    (".png", "image/png", "public.png"),
    (".jpg", "image/jpeg", "public.jpeg"),
    (".jpeg", "image/jpeg", "public.jpeg"),
    (".webp", "image/webp", "org.webmproject.webp"),
)
# Sizes rendered by packaging/render_icons.py into resources/icons/app/desktop-sd-<N>.png.
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICON_DIR = ROOT / "resources" / "icons" / "app"

# Package metadata the frozen app must carry: diffusers and transformers check their
# dependencies' versions through importlib.metadata when they are imported, and
# the Hugging Face libraries look up optional packages the same way.
METADATA_PACKAGES = (
    "torch",
    "diffusers",
    "transformers",
    "accelerate",
    "huggingface_hub",
    "safetensors",
    "tokenizers",
    "numpy",
    "pillow",
    "regex",
    "filelock",
    "requests",
    "packaging",
    "pyyaml",
    "gguf",  # diffusers' GGUF support checks it is installed
    "tqdm",
    "psutil",
    "platformdirs",
    "fsspec",
    "importlib_metadata",
    "jinja2",
    "sympy",
    "networkx",
    "typing_extensions",
    "send2trash",
    "scipy",  # diffusers offers its LMS scheduler only when scipy's metadata is there
    "torchsde",  # ... and DPM++ SDE only when torchsde's is
    "trampoline",  # torchsde's dependency
    "peft",  # diffusers loads LoRA files only when peft's metadata is there
    "spandrel",
    "torchvision",
    "PySide6_Essentials",
    "shiboken6",
    "desktop-sd",
)

# diffusers' pipelines are imported by name at run time (model_index.json names a
# class; the package's lazy loader imports it), so PyInstaller cannot see them.
# The app runs these families; the others (video, audio, Flux...) stay out.
DIFFUSERS_PIPELINES = ("stable_diffusion", "stable_diffusion_xl", "stable_diffusion_2", "stable_diffusion_3", "flux")
# transformers' model classes, named the same way in model_index.json and loaded lazily:
# CLIP (SD's text encoders, tokenizers, image processor, safety checker) and the
# models diffusers' own modules import on the way.
# T5 is SD 3's and Flux's long-prompt encoder; bloom's config is imported by peft, which SD 3's and Flux's
# LoRA loaders import with their pipelines.
TRANSFORMERS_MODELS = ("clip", "auto", "siglip", "dinov2_with_registers", "vit_mae", "encoder_decoder", "t5", "bloom")
# Imported by diffusers' schedulers behind an availability check, which PyInstaller may not follow:
# LMS integrates with scipy, DPM++ SDE draws its noise with torchsde.
SCHEDULER_IMPORTS = ("scipy.integrate", "scipy.stats", "torchsde", "trampoline")
# diffusers imports gguf behind an availability check too, to read quantized transformers.
QUANTIZATION_IMPORTS = ("gguf",)

# Never in the bundle: development tools, test suites, training and notebook stacks.
EXCLUDES = (
    "tkinter",
    "_tkinter",
    "matplotlib",
    "IPython",
    "jupyter",
    "notebook",
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "ruff",
    "importlinter",
    "grimp",
    "PyInstaller",
    "tensorboard",
    "torch.utils.tensorboard",
    "tensorflow",
    "jax",
    "flax",
    "onnx",
    "onnxruntime",
    "pandas",
    "triton",  # only torch.compile needs it; hundreds of MB in the CUDA build
    "diffusers.commands",
    "transformers.commands",
    "accelerate.commands.launch",
)

# Files PyInstaller's torch hook collects that the app never runs: torch's C++ test
# programs and test libraries (about 130 MB). Matched against paths inside the bundle.
DROP_FILES = (
    "torch/test/*",
    "torch/bin/*test*",
    "torch/bin/*Test",
    "torch/bin/protoc*",
    "torch/bin/*.pt",
    "torch/bin/*.ptl",
    "torch/bin/upgrader_models/*",
    "torch/lib/*_test.so",
    "torch/lib/libjitbackend_test.so",
    "torch/lib/libbackend_with_compiler.so",
    "torch/lib/libaoti_custom_ops.so",
)


def drop_file(dest: str) -> bool:
    """Whether a collected file (its path inside the bundle) is left out; see ``DROP_FILES``."""
    path = dest.replace("\\", "/")
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in DROP_FILES)


def project_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The version in ``pyproject.toml``: the one version every installer carries."""
    with pyproject.open("rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ValueError(f"version {version!r} in {pyproject} is not MAJOR.MINOR.PATCH, which installers need")
    return str(version)


def keep_module(name: str) -> bool:
    """Filter for ``collect_submodules``: which diffusers and transformers modules go in."""
    parts = name.split(".")
    if any(name == e or name.startswith(e + ".") for e in EXCLUDES):
        return False
    if parts[:2] == ["diffusers", "pipelines"] and len(parts) > 2:
        # modules directly in diffusers.pipelines (pipeline_utils, ...) stay; subpackages only when listed
        return parts[2] in DIFFUSERS_PIPELINES or parts[2].startswith(("pipeline_", "onnx_utils", "free_"))
    if parts[:2] == ["transformers", "models"] and len(parts) > 2:
        return parts[2] in TRANSFORMERS_MODELS
    return not any(p in ("tests", "testing", "benchmarks") for p in parts[1:])


def hidden_imports(collect_submodules: Callable[..., list[str]]) -> list[str]:
    """Modules loaded by name at run time, given PyInstaller's ``collect_submodules``."""
    names = collect_submodules("desktop_sd", filter=keep_module)
    names += collect_submodules("diffusers", filter=keep_module)
    names += collect_submodules("transformers", filter=keep_module)
    names += collect_submodules("torchsde", filter=keep_module)
    names += SCHEDULER_IMPORTS
    names += QUANTIZATION_IMPORTS
    return sorted(set(names))


def metadata_datas(copy_metadata: Callable[..., list[Any]]) -> list[Any]:
    """``(source, dest)`` pairs of the .dist-info folders listed above that the build venv has."""
    datas: list[Any] = []
    for name in METADATA_PACKAGES:
        try:
            datas += copy_metadata(name)
        except Exception:  # not installed in this build venv (optional): nothing to copy
            continue
    return datas


def document_types() -> list[dict[str, Any]]:
    """macOS ``CFBundleDocumentTypes``: images for "Open With", projects as the app's own files."""
    utis = sorted({uti for _, _, uti in IMAGE_TYPES})
    return [
        {
            "CFBundleTypeName": "Image",
            "CFBundleTypeRole": "Editor",
            "LSHandlerRank": "Alternate",
            "LSItemContentTypes": utis,
        },
        {
            "CFBundleTypeName": "Desktop SD project",
            "CFBundleTypeRole": "Editor",
            "LSHandlerRank": "Owner",
            "LSItemContentTypes": [PROJECT_UTI],
            "CFBundleTypeIconFile": "desktop-sd.icns",
        },
    ]


def info_plist(version: str) -> dict[str, Any]:
    """The macOS ``Info.plist`` entries PyInstaller's BUNDLE adds to its defaults."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleExecutable": EXE_NAME,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "CFBundleIconFile": "desktop-sd.icns",
        "LSMinimumSystemVersion": "11.0",
        "LSApplicationCategoryType": "public.app-category.graphics-design",
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,
        "CFBundleDocumentTypes": document_types(),
        "UTExportedTypeDeclarations": [
            {
                "UTTypeIdentifier": PROJECT_UTI,
                "UTTypeDescription": "Desktop SD project",
                "UTTypeConformsTo": ["public.data", "public.zip-archive"],
                "UTTypeTagSpecification": {
                    "public.filename-extension": [PROJECT_EXTENSION.lstrip(".")],
                    "public.mime-type": [PROJECT_MIME],
                },
            }
        ],
    }


def main(argv: list[str]) -> int:
    values = {
        "version": project_version,
        "app-name": lambda: APP_NAME,
        "exe-name": lambda: EXE_NAME,
        "bundle-id": lambda: BUNDLE_ID,
        "summary": lambda: SUMMARY,
        "publisher": lambda: PUBLISHER,
        "mime-types": lambda: ";".join(dict.fromkeys([m for _, m, _ in IMAGE_TYPES] + [PROJECT_MIME])) + ";",
        "icon-sizes": lambda: " ".join(str(s) for s in ICON_SIZES),
    }
    if len(argv) != 1 or argv[0] not in values:
        print(f"usage: bundle_config.py {{{','.join(values)}}}", file=sys.stderr)
        return 2
    print(values[argv[0]]())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
