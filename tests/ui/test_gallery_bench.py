"""``desktop-sd bench gallery`` end to end on a small library: it fills, measures and reports one JSON line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop_sd.cli import bench_gallery
from desktop_sd.cli.bench import register


def test_bench_gallery_reports_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    monkeypatch.setattr(bench_gallery, "SETTLE_S", 0.0)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "gallery", "--images", "300", "--folder", str(tmp_path)])
    assert args.func(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(out[-1])
    for key in ("first_page_ms", "search_ms", "stall_max_ms", "peak_rss_mb", "open_ms", "scroll_s"):
        assert isinstance(figures[key], int | float) and figures[key] >= 0, key
    assert figures["images"] == 300 and figures["rows_loaded"] == 300
    assert figures["search_hits"] == 6  # one prompt in fifty holds the search word
    assert figures["first_page_thumbnails"] > 0
    assert not (tmp_path / "library").exists()  # the temporary library is removed
