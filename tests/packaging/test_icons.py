"""The app icon: one SVG source, every rendered size present, and the renders up to date with the SVG."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

from PIL import Image, ImageChops, ImageStat

ROOT = Path(__file__).resolve().parents[2]


def test_svg_source_is_a_square_svg() -> None:
    root = ET.parse(ROOT / "resources" / "icon.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, width, height = (float(v) for v in root.get("viewBox", "").split())
    assert width == height


def test_every_size_is_rendered_with_transparency(cfg: ModuleType) -> None:
    for size in cfg.ICON_SIZES:
        image = Image.open(cfg.ICON_DIR / f"desktop-sd-{size}.png")
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        alpha = image.getchannel("A")
        assert alpha.getpixel((0, 0)) == 0, "corners stay transparent (the icon is a rounded square)"
        assert alpha.getpixel((size // 2, size // 2)) == 255


def test_ico_and_icns_hold_the_platform_sizes(cfg: ModuleType) -> None:
    ico = Image.open(cfg.ICON_DIR / "desktop-sd.ico")
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    icns = Image.open(cfg.ICON_DIR / "desktop-sd.icns")
    sizes = {(w, h) for w, h, _ in icns.info["sizes"]}
    assert {(16, 16), (32, 32), (128, 128), (256, 256), (512, 512)} <= sizes


def test_committed_renders_match_the_svg(tmp_path: Path, cfg: ModuleType) -> None:
    """Editing icon.svg without running packaging/render_icons.py fails here."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "render_icons.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for size in (32, 256):
        fresh = Image.open(tmp_path / f"desktop-sd-{size}.png").convert("RGBA")
        committed = Image.open(cfg.ICON_DIR / f"desktop-sd-{size}.png").convert("RGBA")
        mean = ImageStat.Stat(ImageChops.difference(fresh, committed)).mean
        assert max(mean) < 2.0, f"desktop-sd-{size}.png is out of date: run packaging/render_icons.py"
