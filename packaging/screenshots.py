"""Screenshots of the window's main states for the README, at 1280×800.

    xvfb-run -s "-screen 0 1280x800x24" python packaging/screenshots.py [--out resources/screenshots]

Run it under Xvfb to see the window as the X11 platform draws it (it also runs
with ``QT_QPA_PLATFORM=offscreen``). It builds the real window with a stand-in
backend that paints a gradient instead of running a model (no weights needed),
in a throwaway data folder, and writes:

- ``first-start.png``: no model installed, the welcome panel;
- ``generating.png``: a job running, its preview over the frame;
- ``main-window.png``: a photo on the canvas with a painted mask, a result
  offered as a candidate, and the history.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1280, 800)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="desktop-sd-shots-"))
    os.environ["DESKTOP_SD_HOME"] = str(home)  # never the user's own settings or history
    sys.path.insert(0, str(ROOT))

    from PIL import Image, ImageDraw
    from PySide6.QtCore import QPointF, QRect
    from PySide6.QtWidgets import QApplication

    from desktop_sd.cli.gui import build_window
    from desktop_sd.core.backend import BackendStatus
    from desktop_sd.core.request import GenerationRequest, GenerationResult, MemoryTier

    def painting(width: int, height: int, seed: int) -> Image.Image:
        image = Image.new("RGB", (width, height))
        draw = ImageDraw.Draw(image)
        for y in range(height):
            t = y / max(1, height - 1)
            draw.line([(0, y), (width, y)], fill=(int(40 + 180 * t), int(70 + 60 * t), int(150 - 90 * t)))
        draw.ellipse((width * 0.55, height * 0.15, width * 0.8, height * 0.4), fill=(250, 214, 140))
        draw.polygon([(0, height), (width * 0.35, height * 0.55), (width * 0.7, height)], fill=(30 + seed % 40, 40, 55))
        return image

    class Painter:
        """Stands in for the engine: a gradient landscape per seed, step by step (``hold`` pauses at a step)."""

        def __init__(self) -> None:
            self.hold = threading.Event()
            self.hold.set()

        def generate(self, request: GenerationRequest, on_step, cancelled) -> GenerationResult:  # type: ignore[no-untyped-def]
            seed = request.seed or 0
            for step in range(1, request.steps + 1):
                on_step(step, request.steps, painting(request.width // 4, request.height // 4, seed))
                if step == 3:
                    self.hold.wait(30)
            images = tuple(painting(request.width, request.height, seed + i) for i in range(request.batch_size))
            seeds = tuple(seed + i for i in range(request.batch_size))
            return GenerationResult(images, request, seeds, request.model, "cpu", MemoryTier.GPU)

        def status(self) -> BackendStatus:
            return BackendStatus(device="cpu", device_name="CPU", tier=None, model_id=None, free_vram_mb=None)

    app = QApplication.instance() or QApplication([])
    painter = Painter()

    def settle(ms: int = 300) -> None:
        timer = threading.Event()
        end = threading.Timer(ms / 1000, timer.set)
        end.start()
        while not timer.is_set():
            app.processEvents()

    def shoot(window: object, name: str) -> None:
        settle()
        window.grab().save(str(args.out / name))  # type: ignore[attr-defined]
        print(args.out / name)

    _app, window = build_window(["--library", str(home / "library")], lambda: painter)
    window.resize(*SIZE)
    window.show()
    shoot(window, "first-start.png")
    window.shutdown()
    window.deleteLater()

    model = home / "demo-model"
    (model / "unet").mkdir(parents=True)
    (model / "model_index.json").write_text("{}", encoding="utf-8")
    (model / "unet" / "config.json").write_text('{"cross_attention_dim": 768, "in_channels": 4}', encoding="utf-8")
    photo = home / "harbour.png"
    painting(768, 512, 3).save(photo)
    _app, window = build_window(["--model", str(model), "--library", str(home / "library")], lambda: painter)
    window.resize(*SIZE)
    window.show()
    history = window.services.history
    for seed in (11, 12, 13, 14):  # a few images in the history
        window.prompt.update(prompt="a harbour at dawn, oil painting", steps=4, seed=seed, random_seed=False)
        window.generation.generate()
        settle(400)
    window.files.open_path(photo)
    window.canvas.set_frame(QRect(256, 64, 384, 384))
    window.canvas.begin_stroke()
    window.canvas.stroke_segment(QPointF(380, 200), QPointF(520, 300), 40, 0.8, False)
    window.canvas.end_stroke()
    window.prompt.update(prompt="a red sailing boat", steps=20, seed=42, batch_size=2)
    painter.hold.clear()
    window.generation.generate()
    shoot(window, "generating.png")
    painter.hold.set()
    settle(800)
    shoot(window, "main-window.png")
    window.shutdown()
    assert history is not None
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
