"""``desktop-sd --selftest``: a real generation and window build in a fresh process, a clear failure, no traces."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_app(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESKTOP_SD_HOME": str(home), "OMP_NUM_THREADS": "1", "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-m", "desktop_sd", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def report(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The report's ``label   value`` rows as a dict."""
    rows = {}
    for line in result.stdout.splitlines():
        if line.startswith("  ") and not line.startswith("  -"):
            label, _, value = line.strip().partition(" ")
            rows[label] = value.strip()
    return rows


def test_selftest_generates_builds_the_window_and_reports_versions(isolated_home: Path) -> None:
    result = run_app("--selftest", home=isolated_home)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("Self-test passed.")
    rows = report(result)
    assert rows["torch"].startswith(importlib.metadata.version("torch"))
    assert rows["diffusers"] == importlib.metadata.version("diffusers")
    assert rows["transformers"] == importlib.metadata.version("transformers")
    assert rows["PySide6"].startswith(importlib.metadata.version("PySide6-Essentials"))
    assert rows["python"].startswith(".".join(map(str, sys.version_info[:3])))
    assert rows["device"].split()[0] in ("cpu", "cuda", "mps")
    assert rows["memory"].split()[-1] in ("gpu", "model_offload", "sequential_offload")  # "memory tier  gpu"
    assert rows["image"].startswith("64x64 RGB")
    assert "Desktop SD" in rows["window"] and "offscreen" in rows["window"]
    assert rows["user"].endswith(str(isolated_home / "data"))  # "user data  <folder>"


def test_selftest_leaves_no_model_history_or_settings_behind(isolated_home: Path) -> None:
    result = run_app("selftest", "--no-gui", "--device", "cpu", home=isolated_home)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "window" not in report(result)
    left = [p for p in isolated_home.rglob("*") if p.is_file()]
    assert left == [], f"the self-test left files in the user's folders: {left}"


def test_selftest_fails_with_the_reason_when_a_check_fails(isolated_home: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU, so asking for one cannot fail")
    result = run_app("selftest", "--no-gui", "--device", "cuda", home=isolated_home)

    assert result.returncode == 1
    assert "generation    FAILED: No CUDA GPU is available" in result.stdout
    assert "Self-test FAILED (1 of 4 checks)" in result.stdout
    assert "Self-test passed." not in result.stdout
    assert "Traceback" in result.stderr  # the details, for a bug report
