"""Packaging tests import ``packaging/bundle_config.py`` (a script folder, not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_bundle_config() -> ModuleType:
    # "packaging" would shadow the PyPI package of that name, so load the file by path.
    spec = importlib.util.spec_from_file_location("bundle_config", ROOT / "packaging" / "bundle_config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bundle_config", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cfg() -> ModuleType:
    return load_bundle_config()
