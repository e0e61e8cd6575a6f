"""The layering in ARCHITECTURE.md, checked: import-linter contracts and a cheap start-up path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=None,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_package_and_gui_modules_does_not_import_torch() -> None:
    code = (
        "import sys, importlib, pkgutil\n"
        "import desktop_sd, desktop_sd.core, desktop_sd.models, desktop_sd.library, desktop_sd.cli\n"
        "for pkg in ('desktop_sd.core', 'desktop_sd.models', 'desktop_sd.library',"
        " 'desktop_sd.app', 'desktop_sd.ui'):\n"
        "    mod = importlib.import_module(pkg)\n"
        "    for info in pkgutil.iter_modules(mod.__path__):\n"
        "        importlib.import_module(f'{pkg}.{info.name}')\n"
        "desktop_sd.cli.build_parser()\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_app_layer_uses_no_widgets() -> None:
    """``app`` holds controllers and item models (QtCore/QtGui); widgets belong to ``ui``."""
    import ast

    offenders = []
    for path in (ROOT / "desktop_sd" / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(n.startswith("PySide6.QtWidgets") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
