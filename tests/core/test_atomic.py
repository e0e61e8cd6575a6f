from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from desktop_sd.core.atomic import STEPS, atomic_copy, atomic_write, atomic_write_bytes


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    target.write_text("old")

    def half_then_fail(stream: BinaryIO) -> None:
        stream.write(b"new but unfin")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_a_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    atomic_write(target, lambda stream: stream.write(b"x" * 10_000))
    assert target.read_bytes() == b"x" * 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_the_steps_are_reported_in_order(tmp_path: Path) -> None:
    steps: list[str] = []
    atomic_write_bytes(tmp_path / "a.bin", b"0123456789", on_step=steps.append)
    assert steps == list(STEPS)
    assert (tmp_path / "a.bin").read_bytes() == b"0123456789"


def test_a_copy_stopped_midway_leaves_no_trace(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 3000)
    blocks: list[int] = []

    def stop_after_two(size: int) -> None:
        blocks.append(size)
        if len(blocks) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_copy(source, tmp_path / "copy.bin", on_block=stop_after_two, chunk=1000)
    assert blocks == [1000, 1000]
    assert [p.name for p in tmp_path.iterdir()] == ["source.bin"]
    atomic_copy(source, tmp_path / "copy.bin", on_block=blocks.append, chunk=1000)
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes() and sum(blocks) == 5000
