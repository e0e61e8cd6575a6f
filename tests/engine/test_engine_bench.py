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
