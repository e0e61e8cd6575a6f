"""Render the app icon from ``resources/icon.svg`` into every size the installers need.

    python packaging/render_icons.py [--out resources/icons/app]

Writes ``desktop-sd-<N>.png`` for each size in ``PNG_SIZES`` (the Linux hicolor
theme and the window icon), ``desktop-sd.ico`` (Windows: exe, installer,
shortcuts) and ``desktop-sd.icns`` (macOS ``.app``). The SVG is drawn with
QtSvg for each size, not scaled down from one large bitmap, so small sizes stay
sharp; Pillow packs the ``.ico`` and ``.icns`` from those renders.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icon.svg"
OUT = ROOT / "resources" / "icons" / "app"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def render(svg: Path, size: int) -> Image.Image:
    """Draw the SVG at ``size`` x ``size`` pixels with QtSvg; returns an RGBA image."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not an SVG that QtSvg can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return Image.open(io.BytesIO(bytes(data))).convert("RGBA")


def render_all(svg: Path = SVG, out: Path = OUT) -> list[Path]:
    """Write every PNG size, the .ico and the .icns into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    images = {size: render(svg, size) for size in sorted(set(PNG_SIZES + ICO_SIZES + ICNS_SIZES))}
    written: list[Path] = []
    for size in PNG_SIZES:
        path = out / f"desktop-sd-{size}.png"
        images[size].save(path, optimize=True)
        written.append(path)

    ico = out / "desktop-sd.ico"
    largest = images[ICO_SIZES[-1]]
    largest.save(
        ico,
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES[:-1]],
    )
    written.append(ico)

    icns = out / "desktop-sd.icns"
    images[ICNS_SIZES[-1]].save(icns, format="ICNS", append_images=[images[s] for s in ICNS_SIZES[:-1]])
    written.append(icns)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=SVG, help="icon source (default: resources/icon.svg)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: resources/icons/app)")
    args = parser.parse_args(argv)
    for path in render_all(args.svg, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
