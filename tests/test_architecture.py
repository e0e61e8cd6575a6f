"""The layering in ARCHITECTURE.md, checked: import-linter contracts, no import cycles, a cheap start-up path."""

from __future__ import annotations

import subprocess
import sys
from collections import deque
from pathlib import Path

import grimp

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


def strongly_connected(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """Groups of modules that import each other, directly or not (Tarjan), each with a cycle in it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[frozenset[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1 or module in graph.find_modules_directly_imported_by(module):
                groups.append(frozenset(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def cycles_in(group: frozenset[str], graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """The shortest cycle through each module of ``group``, each cycle once, starting at its smallest name."""
    found: set[tuple[str, ...]] = set()
    for start in sorted(group):
        came_from: dict[str, str] = {}
        queue = deque([start])
        while queue:
            module = queue.popleft()
            imported = sorted(graph.find_modules_directly_imported_by(module) & group)
            if start in imported:
                path = [module]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                cycle = path[::-1]
                first = cycle.index(min(cycle))
                found.add(tuple(cycle[first:] + cycle[:first]))
                break
            for other in imported:
                if other not in came_from and other != start:
                    came_from[other] = module
                    queue.append(other)
    return sorted(found)


def import_cycles(graph: grimp.ImportGraph, allowed: tuple[frozenset[str], ...] = ()) -> list[str]:
    """Each cycle as "a -> b -> a", leaving out groups that lie within an allowed one."""
    return [
        " -> ".join((*cycle, cycle[0]))
        for group in strongly_connected(graph)
        if not any(group <= known for known in allowed)
        for cycle in cycles_in(group, graph)
    ]


def test_the_cycle_finder_lists_every_cycle() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.a"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph) == ["p.a -> p.b -> p.a", "p.a -> p.b -> p.c -> p.a"]
    assert import_cycles(graph, (frozenset({"p.a", "p.b", "p.c"}),)) == []
    assert import_cycles(graph, (frozenset({"p.a", "p.b"}),)) != []


def test_no_import_cycles() -> None:
    """No modules of ``desktop_sd`` import each other in a loop (imports in functions and for type checks count)."""
    graph = grimp.build_graph("desktop_sd", include_external_packages=False, cache_dir=None)
    cycles = import_cycles(graph)
    assert not cycles, "Import cycles:\n" + "\n".join(cycles)


def test_importing_the_package_and_gui_modules_does_not_import_torch() -> None:
    code = (
        "import sys, importlib, pkgutil\n"
        "import desktop_sd, desktop_sd.core, desktop_sd.models, desktop_sd.library, desktop_sd.cli\n"
        "for pkg in ('desktop_sd.core', 'desktop_sd.models', 'desktop_sd.library', 'desktop_sd.remote',"
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
