"""``desktop-sd bench gallery --images N``: the history gallery at scale.

Fills a temporary library with N records, each with a real small PNG (written
directly and bulk-inserted: the fill is not what is measured), then times:
opening the library (start-up reconcile), opening the gallery dock (offscreen)
until the first screen of thumbnails is shown, scrolling from one end to the
other and back (the longest stall of the GUI thread, seen by a heartbeat
timer), a full-text search, and peak memory. The last line is one JSON object.

Goals at N=100,000: first page < 500 ms, search < 200 ms, stall < 50 ms, memory < 300 MB.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop_sd.core.params import SEED

GOALS = {"first_page_ms": 500.0, "search_ms": 200.0, "stall_max_ms": 50.0, "peak_rss_mb": 300.0}
WORDS = (
    "cat",
    "dog",
    "fox",
    "owl",
    "castle",
    "forest",
    "portrait",
    "landscape",
    "city",
    "night",
    "sunset",
    "robot",
    "dragon",
    "ocean",
    "mountain",
    "flower",
    "knight",
    "wizard",
    "ship",
    "garden",
    "river",
    "desert",
    "winter",
    "autumn",
    "temple",
    "lantern",
    "market",
    "harbour",
    "meadow",
    "storm",
    "bridge",
    "library",
    "tower",
    "village",
    "canyon",
    "glacier",
    "volcano",
    "island",
    "jungle",
    "train",
)
SEARCH_WORD = "lighthouse"  # in one prompt of every 50: a search with a realistic number of hits
IMAGES_PER_DAY = 150
BLOBS = 64
SETTLE_S = 3.5  # folders changed more recently than this are listed again at the next start


def register(benches: argparse._SubParsersAction) -> None:
    parser = benches.add_parser("gallery", help="time the history gallery with N images")
    parser.add_argument("--images", type=int, default=10_000, help="images in the temporary library (default 10000)")
    parser.add_argument("--folder", type=Path, default=None, help="where to build the library (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the library afterwards")
    parser.set_defaults(func=run)


def _peak_rss_mb() -> float:
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    except ImportError:  # Windows
        import psutil

        return psutil.Process().memory_info().peak_wset / (1024 * 1024)


def _blobs() -> list[bytes]:
    """Small gradient PNGs with A1111 parameters, one per colour: fast to write, real to decode."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    blobs = []
    for n in range(BLOBS):
        base = ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256)
        image = Image.linear_gradient("L").resize((96, 96)).convert("RGB")
        tint = Image.new("RGB", image.size, base)
        image = Image.blend(image, tint, 0.6)
        info = PngInfo()
        info.add_text(
            "parameters", f"bench image {n}\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: {n}, Size: 96x96"
        )
        buffer = io.BytesIO()
        image.save(buffer, "PNG", pnginfo=info, compress_level=1)
        blobs.append(buffer.getvalue())
    return blobs


def _rows(folder: Path, count: int) -> Iterator[dict[str, Any]]:
    blobs = _blobs()
    rnd = random.Random(1234)
    start = time.time() - (count // IMAGES_PER_DAY + 1) * 86_400
    day_dir: Path | None = None
    for n in range(count):
        created = start + n * (86_400 / IMAGES_PER_DAY)
        day = time.strftime("%Y-%m-%d", time.localtime(created))
        if day_dir is None or day_dir.name != day:
            day_dir = folder / day
            day_dir.mkdir(exist_ok=True)
        name = f"{n:07d}.png"
        (day_dir / name).write_bytes(blobs[n % BLOBS])
        words = rnd.sample(WORDS, 6)
        if n % 50 == 0:
            words.append(SEARCH_WORD)
        yield {
            "file_name": f"{day}/{name}",
            "created": created,
            "prompt": ", ".join(words) + ", highly detailed",
            "negative_prompt": "blurry, lowres",
            "model": f"model-{n % 4}",
            "scheduler": "euler_a",
            "steps": 20,
            "cfg_scale": 7.0,
            "seed": str(rnd.randint(SEED.minimum, SEED.maximum)),
            "width": 96,
            "height": 96,
            "mode": "txt2img",
            "strength": None,
            "parent_id": None,
            "favourite": int(n % 100 == 0),
            "rating": 0,
            "tags": "",
            "missing": 0,
            "source": "Desktop SD",
            "params": "{}",
        }


def _visible_ids(dock: Any) -> list[int]:
    from PySide6.QtCore import QPoint

    view = dock.view
    grid = view.gridSize()
    rect = view.viewport().rect()
    ids = set()
    for y in range(grid.height() // 2, rect.height(), grid.height()):
        for x in range(grid.width() // 2, rect.width(), grid.width()):
            index = view.indexAt(QPoint(x, y))
            if index.isValid():
                ids.add(dock.model.image_id(index.row()))
    return sorted(ids)


def _wait(app: Any, done: Any, limit_s: float = 60.0) -> None:
    """Run the event loop as the app does (blocking between events) until ``done()`` holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    if done():
        return
    loop = QEventLoop()
    deadline = time.perf_counter() + limit_s
    failed = []

    def check() -> None:
        if done():
            loop.quit()
        elif time.perf_counter() > deadline:
            failed.append(True)
            loop.quit()

    poll = QTimer()
    poll.setInterval(2)
    poll.timeout.connect(check)
    poll.start()
    loop.exec()
    poll.stop()
    if failed:
        raise TimeoutError("the gallery did not settle in time")


def _scroll_end_to_end(app: Any, dock: Any) -> dict[str, Any]:
    """Scroll down to the last image (pages fetched as the view reaches the end), then back to the top.

    A 1 ms heartbeat timer on the GUI thread sees every stall: the longest gap
    between its beats is ``stall_max_ms``. With each gap the GUI thread's own
    CPU time is taken too, so a gap where the thread ran little was the
    operating system giving the core to another process, not our work.
    """
    from PySide6.QtCore import QModelIndex, QTimer

    view, model = dock.view, dock.model
    bar = view.verticalScrollBar()
    gaps: list[tuple[float, float]] = []  # (wall ms, GUI-thread CPU ms) between beats
    last = [time.perf_counter(), time.thread_time()]

    def beat() -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gaps.append(((now - last[0]) * 1000, (cpu - last[1]) * 1000))
        last[0], last[1] = now, cpu

    heartbeat = QTimer()
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(beat)
    state = {"direction": 1, "frames": 0, "done": False}
    step = max(bar.pageStep() * 8, 1)

    def frame() -> None:
        state["frames"] += 1
        if state["direction"] == 1:
            if bar.value() >= bar.maximum() and not model.canFetchMore(QModelIndex()):
                state["direction"] = -1
            else:
                bar.setValue(min(bar.value() + step, bar.maximum()))
        elif bar.value() <= 0:
            state["done"] = True
        else:
            bar.setValue(max(bar.value() - step, 0))

    ticker = QTimer()
    ticker.setInterval(16)  # one frame at 60 Hz
    ticker.timeout.connect(frame)
    app.processEvents()
    last[:] = [time.perf_counter(), time.thread_time()]
    heartbeat.start()
    ticker.start()
    started = time.perf_counter()
    _wait(app, lambda: state["done"], limit_s=1800)
    ticker.stop()
    heartbeat.stop()
    walls = sorted(g[0] for g in gaps)
    worst = max(gaps, default=(0.0, 0.0))
    return {
        "stall_max_ms": round(worst[0], 1),
        "stall_max_cpu_ms": round(worst[1], 1),
        "stall_p99_ms": round(walls[int(len(walls) * 0.99)] if walls else 0.0, 1),
        "stalls_over_50ms": sum(1 for w in walls if w > 50),
        "scroll_s": round(time.perf_counter() - started, 2),
        "scroll_frames": state["frames"],
        "rows_loaded": model.rowCount(),
    }


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from desktop_sd.app.gallery_model import GalleryModel
    from desktop_sd.library.records import Filters
    from desktop_sd.library.store import Library
    from desktop_sd.ui.gallery import GalleryDock

    count = max(1, int(args.images))
    base = Path(args.folder) if args.folder else Path(tempfile.mkdtemp(prefix="desktop-sd-bench-gallery-"))
    folder = base / "library"
    results: dict[str, Any] = {"images": count}
    try:
        print(f"filling {folder} with {count} images…", flush=True)
        started = time.perf_counter()
        with Library.open(folder) as library:
            library.bulk_insert(_rows(folder, count))
        if hasattr(os, "sync"):
            os.sync()  # a real library is long on disk: do not measure the fill's write-back
        gc.collect()
        results["fill_s"] = round(time.perf_counter() - started, 1)
        print(f"  filled in {results['fill_s']} s", flush=True)
        time.sleep(SETTLE_S)  # a real library's folders last changed long ago: let the newest settle too

        started = time.perf_counter()
        Library.open(folder).close()  # first start after the fill: every folder is new, all are listed
        results["open_first_ms"] = round((time.perf_counter() - started) * 1000, 1)
        started = time.perf_counter()
        library = Library.open(folder)  # a normal start: nothing changed
        results["open_ms"] = round((time.perf_counter() - started) * 1000, 1)
        results["reconcile_folders_listed"] = library.last_reconcile.folders_scanned
        print(f"  library open {results['open_ms']} ms (first after fill {results['open_first_ms']} ms)", flush=True)

        app = QApplication.instance() or QApplication([])
        started = time.perf_counter()
        model = GalleryModel(library)
        dock = GalleryDock(model)
        dock.resize(1100, 900)
        dock.show()
        _wait(app, lambda: bool(ids := _visible_ids(dock)) and all(model.has_thumbnail(i) for i in ids))
        results["first_page_ms"] = round((time.perf_counter() - started) * 1000, 1)
        results["first_page_thumbnails"] = len(_visible_ids(dock))
        print(
            f"  first page: {results['first_page_ms']} ms ({results['first_page_thumbnails']} thumbnails)", flush=True
        )

        results.update(_scroll_end_to_end(app, dock))
        print(
            f"  scrolled {results['rows_loaded']} rows end to end in {results['scroll_s']} s; "
            f"longest GUI stall {results['stall_max_ms']} ms (GUI thread busy {results['stall_max_cpu_ms']} ms of it), "
            f"99th percentile {results['stall_p99_ms']} ms, {results['stalls_over_50ms']} over 50 ms",
            flush=True,
        )

        started = time.perf_counter()
        hits = library.count(SEARCH_WORD)
        results["search_query_ms"] = round((time.perf_counter() - started) * 1000, 1)
        started = time.perf_counter()
        dock.filters.search.setText(SEARCH_WORD)
        dock.filters._emit()  # what the search box does once typing pauses
        app.processEvents()
        _wait(app, lambda: bool(_visible_ids(dock)))
        dock.view.viewport().repaint()
        results["search_ms"] = round((time.perf_counter() - started) * 1000, 1)
        results["search_hits"] = hits
        _wait(app, lambda: all(model.has_thumbnail(i) for i in _visible_ids(dock)))
        results["search_thumbnails_ms"] = round((time.perf_counter() - started) * 1000, 1)
        started = time.perf_counter()
        model.set_filter("", Filters(model="model-2", favourite=True))
        app.processEvents()
        results["filter_ms"] = round((time.perf_counter() - started) * 1000, 1)
        print(
            f"  search '{SEARCH_WORD}': {results['search_ms']} ms to show {hits} hits "
            f"(query {results['search_query_ms']} ms); filter {results['filter_ms']} ms",
            flush=True,
        )

        dock.close()
        model.close()
        library.close()
        results["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        results["goals_met"] = all(results[key] < goal for key, goal in GOALS.items())
        print(f"  peak RSS {results['peak_rss_mb']} MB", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(base if not args.folder else folder, ignore_errors=True)
    print(json.dumps(results))
    return 0
