from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from desktop_sd.core.atomic import atomic_write


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
