"""``desktop-sd bench ui``: how fast the window appears and how responsive it stays while generating.

Two measurements:

- ``window_shown_s``: from starting a fresh ``python`` process (so torch is not
  already imported) to the window's first paint. The median of a few launches.
- GUI stalls during generation: the real window, offscreen, runs jobs with a
  tiny random-weight model (built in a temporary folder) on the real engine,
  while a 5 ms heartbeat timer on the GUI thread records when it gets to run.
  A stall is how much later than due a beat came; ``stall_p99_ms`` and
  ``stall_max_ms`` are over every beat from the first Generate to the last result.

Goals: p99 stall < 16 ms (one frame at 60 Hz), longest stall < 50 ms, window shown < 1.5 s.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"stall_p99_ms": 16.0, "stall_max_ms": 50.0, "window_shown_s": 1.5}
HEARTBEAT_MS = 5
CHILD_FLAG = "--report-window-shown"


def register(benches: argparse._SubParsersAction) -> None:
    parser = benches.add_parser("ui", help="window start-up time and GUI stalls while generating")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    parser.add_argument("--steps", type=int, default=8, help="denoising steps per job (default 8)")
    parser.add_argument("--jobs", type=int, default=3, help="jobs queued at once (default 3)")
    parser.add_argument("--launches", type=int, default=3, help="fresh processes timed for start-up (default 3)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.set_defaults(func=run)


def _environment(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DESKTOP_SD_HOME"] = str(home)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def measure_window_shown(launches: int, home: Path) -> tuple[float, list[float], bool]:
    """Median seconds from process start to the first paint of the window, each in a fresh process."""
    times: list[float] = []
    torch_seen = False
    code = "import sys; from desktop_sd.cli.bench_ui import report_window_shown; sys.exit(report_window_shown())"
    for _ in range(max(1, launches)):
        started = time.time()
        done = subprocess.run(
            [sys.executable, "-c", code, CHILD_FLAG],
            env=_environment(home),
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"the start-up probe failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        report = json.loads(lines[-1])
        times.append(report["shown_at"] - started)
        torch_seen = torch_seen or report["torch_imported"]
    return statistics.median(times), times, torch_seen


def report_window_shown() -> int:
    """In the probe process: build and show the window, print when it first painted, quit."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_sd.cli.gui import build_window

    app, window = build_window([])

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not hasattr(self, "at"):
                self.at = time.time()
                QTimer.singleShot(0, app.quit)
            return False

    spy = FirstPaint()
    window.installEventFilter(spy)
    window.show()
    QTimer.singleShot(10_000, app.quit)
    app.exec()
    shown = getattr(spy, "at", None)
    window.shutdown()
    print(json.dumps({"shown_at": shown, "torch_imported": "torch" in sys.modules}))
    return 0 if shown is not None and isinstance(QApplication.instance(), QApplication) else 1


def measure_stalls(size: int, steps: int, jobs: int, device: str, home: Path) -> dict[str, float]:
    """Generate ``jobs`` images in the real window with the real engine; GUI-thread stalls meanwhile."""
    os.environ["DESKTOP_SD_HOME"] = str(home)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from desktop_sd.cli.gui import build_window
    from desktop_sd.core.backend import Backend
    from desktop_sd.engine.random_models import save_pipeline

    model = save_pipeline(home / "tiny-model", "tiny")

    def factory() -> Backend:  # the engine, made on the worker thread as in the app
        from desktop_sd.engine import Engine
        from desktop_sd.models.resolve import resolve_model

        return Engine(resolve=resolve_model, device=device)

    app, window = build_window(["--model", str(model)], backend_factory=factory)
    window.show()
    app.processEvents()
    window.prompt.update(prompt="a lighthouse on a cliff at dusk", steps=steps, width=size, height=size)

    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    loop = QEventLoop()
    ended: list[str] = []

    def on_end(*args: object) -> None:
        ended.append(str(args[1]) if len(args) > 1 and isinstance(args[1], str) else "")
        if len(ended) == jobs:
            loop.quit()

    window.queue.job_finished.connect(on_end)
    window.queue.job_failed.connect(on_end)
    window.queue.job_cancelled.connect(on_end)
    QTimer.singleShot(600_000, loop.quit)
    heartbeat.start()
    started = time.perf_counter()
    beats.append(started)
    for _ in range(jobs):
        window.generation.generate()
    loop.exec()
    elapsed = time.perf_counter() - started
    heartbeat.stop()
    window.shutdown()
    errors = [e for e in ended if e]
    if len(ended) < jobs or errors:
        raise RuntimeError(f"generation did not finish: {errors or 'timed out'}")
    stalls = sorted(max(0.0, (b - a) * 1000 - HEARTBEAT_MS) for a, b in itertools.pairwise(beats))
    p99 = stalls[min(len(stalls) - 1, int(len(stalls) * 0.99))] if stalls else 0.0
    return {
        "stall_p99_ms": round(p99, 2),
        "stall_max_ms": round(stalls[-1] if stalls else 0.0, 2),
        "generation_s": round(elapsed, 2),
        "heartbeats": len(beats),
    }


def run(args: argparse.Namespace) -> int:
    from desktop_sd.cli.generate import quiet_libraries

    quiet_libraries()
    with tempfile.TemporaryDirectory(prefix="desktop-sd-bench-ui-") as tmp:
        shown, launches, torch_seen = measure_window_shown(args.launches, Path(tmp) / "launch")
        print(
            f"window shown: {shown:.2f} s (median of {', '.join(f'{t:.2f}' for t in launches)}); "
            f"torch imported before the window: {'yes' if torch_seen else 'no'}"
        )
        stalls = measure_stalls(args.size, args.steps, args.jobs, args.device, Path(tmp) / "run")
    print(
        f"{args.jobs} jobs of {args.steps} steps at {args.size}px in {stalls['generation_s']:.1f} s; "
        f"GUI stalls: p99 {stalls['stall_p99_ms']:.1f} ms, longest {stalls['stall_max_ms']:.1f} ms "
        f"({stalls['heartbeats']} heartbeats)"
    )
    result = {
        "window_shown_s": round(shown, 3),
        **stalls,
        "jobs": args.jobs,
        "steps": args.steps,
        "size": args.size,
        "torch_before_window": torch_seen,
    }
    result["goals_met"] = all(result[key] < goal for key, goal in GOALS.items()) and not torch_seen
    print(json.dumps(result))
    return 0
