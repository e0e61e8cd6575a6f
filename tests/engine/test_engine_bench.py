"""``desktop-sd bench engine`` prints rounds and ends with one JSON line."""

from __future__ import annotations

import json

import pytest

from desktop_sd.cli import main


def test_bench_engine_reports_overhead_and_memory(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["bench", "engine", "--model-size", "tiny", "--size", "64", "--steps", "2", "--rounds", "2", "--device", "cpu"]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert sum(line.startswith("round ") for line in out) == 2
    report = json.loads(out[-1])
    assert report["size"] == 64 and report["steps"] == 2 and report["device"] == "cpu"
    assert len(report["engine_s"]) == len(report["diffusers_s"]) == 2
    assert report["overhead_ratio"] > 0
    assert isinstance(report["peak_mem_delta_mb"], float)
    # The app's automatic CPU settings against plain diffusers in float32, same request, same weights.
    assert len(report["fast_s"]) == 2 and report["cpu_speedup_vs_diffusers_fp32"] > 0
    assert report["fast_dtype"] in ("float32", "bfloat16") and 0 <= report["max_abs_diff_vs_fp32"] <= 255


def test_bench_engine_float32_fast_engine_matches_plain_diffusers(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "engine", "--model-size", "tiny", "--size", "64", "--steps", "2", "--rounds", "1"]
    assert main([*args, "--device", "cpu", "--cpu-precision", "float32"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["fast_dtype"] == "float32" and report["max_abs_diff_vs_fp32"] == 0
