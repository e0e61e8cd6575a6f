"""Thumbnails: made once, cached, remade when stale or damaged, safe on odd images."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from desktop_sd.library.thumbnails import THUMB_SIZE, load_thumbnail, make_thumbnail, thumbnail_path


def test_thumbnail_fits_the_box_and_is_cached(tmp_path: Path) -> None:
    source = tmp_path / "wide.png"
    Image.new("RGB", (1024, 512), (0, 128, 255)).save(source)
    target = thumbnail_path(tmp_path / "lib", "2024-01-01/wide.png")
    thumb = load_thumbnail(source, target)
    assert thumb.size == (THUMB_SIZE, THUMB_SIZE // 2) and thumb.mode == "RGB"
    assert target.is_file()
    r, g, b = thumb.getpixel((10, 10))
    assert abs(r - 0) < 8 and abs(g - 128) < 8 and abs(b - 255) < 8
    mtime = target.stat().st_mtime_ns
    load_thumbnail(source, target)
    assert target.stat().st_mtime_ns == mtime  # served from the cache


def test_stale_or_damaged_cache_entries_are_remade(tmp_path: Path) -> None:
    source = tmp_path / "a.png"
    Image.new("RGB", (64, 64), "red").save(source)
    target = tmp_path / "cache" / "a.jpg"
    load_thumbnail(source, target)
    target.write_bytes(b"garbage")
    assert load_thumbnail(source, target).getpixel((5, 5))[0] > 200
    Image.new("RGB", (64, 64), "blue").save(source)
    future = target.stat().st_mtime + 10
    os.utime(source, (future, future))
    assert load_thumbnail(source, target).getpixel((5, 5))[2] > 200


def test_transparent_and_palette_images(tmp_path: Path) -> None:
    source = tmp_path / "alpha.png"
    Image.new("RGBA", (32, 32), (255, 0, 0, 0)).save(source)
    thumb = make_thumbnail(source, tmp_path / "t.jpg")
    assert thumb.mode == "RGB" and thumb.getpixel((1, 1)) == (48, 48, 48)
    palette = tmp_path / "p.png"
    Image.new("P", (16, 16)).save(palette)
    assert make_thumbnail(palette, tmp_path / "p.jpg").mode == "RGB"


def test_missing_and_broken_sources_raise_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_thumbnail(tmp_path / "gone.png", tmp_path / "t.jpg")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnope")
    with pytest.raises(OSError):
        load_thumbnail(broken, tmp_path / "b.jpg")


def test_an_unwritable_cache_still_returns_the_thumbnail(tmp_path: Path) -> None:
    source = tmp_path / "a.png"
    Image.new("RGB", (40, 40), "green").save(source)
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("x")
    assert make_thumbnail(source, blocker / "a.jpg").size == (40, 40)
