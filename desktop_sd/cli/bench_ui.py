"""``desktop-sd bench ui``: how fast the window appears and how responsive it stays while generating.

Two measurements:

- ``window_shown_s``: from starting a fresh ``python`` process (so torch is not
  already imported) to the window's first paint. The median of a few launches.
- GUI stalls: a fresh ``python`` process shows the real window, offscreen, as
  ``desktop-sd`` does, with the engine the app gets (``cli.local_engine``), while
  a 5 ms heartbeat timer on the GUI thread records when it gets to run. A stall
  is how much later than due a beat came. After the first paint the worker warms
  the engine up (its imports); the probe waits for that as a user typing a prompt
  would (``warm_up_s``, ``warm_up_stall_p99_ms``, ``warm_up_stall_max_ms``), then
  generates with a tiny random-weight model (built in a temporary folder):
  ``stall_p99_ms`` and ``stall_max_ms`` are over every beat from the first
  Generate to the last result.

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
STALLS_FLAG = "--report-stalls"


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
    """In the probe process: build and show the window as ``desktop-sd`` does (the engine's warm-up starting
    after the first paint), print when it first painted and whether torch was imported by then, quit."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_sd.app.first_paint import after_first_paint
    from desktop_sd.cli.gui import build_window

    app, window = build_window([])

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not hasattr(self, "at"):
                self.at = time.time()
                self.torch = "torch" in sys.modules
                QTimer.singleShot(0, app.quit)
            return False

    spy = FirstPaint()
    window.installEventFilter(spy)
    after_first_paint(window, window.queue.warm_up)  # quitting during it must stay quick
    window.show()
    QTimer.singleShot(10_000, app.quit)
    app.exec()
    shown = getattr(spy, "at", None)
    window.shutdown()
    print(json.dumps({"shown_at": shown, "torch_imported": getattr(spy, "torch", True)}))
    return 0 if shown is not None and isinstance(QApplication.instance(), QApplication) else 1


def measure_stalls(size: int, steps: int, jobs: int, device: str, home: Path) -> dict[str, float]:
    """GUI-thread stalls in a fresh window process (torch not yet imported, as for a user) with the real engine:
    while it warms up after showing, then while it generates ``jobs`` images with a tiny random model."""
    from desktop_sd.engine.random_models import save_pipeline

    model = save_pipeline(home / "tiny-model", "tiny")  # here, so the measured process imports nothing early
    code = "import sys; from desktop_sd.cli.bench_ui import report_stalls; sys.exit(report_stalls(sys.argv[2:]))"
    args = [str(model), str(size), str(steps), str(jobs), device]
    env = {**_environment(home), "TRANSFORMERS_VERBOSITY": "error", "DIFFUSERS_VERBOSITY": "error"}
    done = subprocess.run(
        [sys.executable, "-c", code, STALLS_FLAG, *args], env=env, capture_output=True, text=True, timeout=900
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the stall probe failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    report: dict[str, float] = json.loads(lines[-1])
    return report


def report_stalls(argv: list[str]) -> int:
    """In the probe process: show the window as ``desktop-sd`` does (the engine warms up after the first
    paint), wait for the warm-up as a user typing a prompt would, then generate; print the stalls."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from desktop_sd.app.first_paint import after_first_paint
    from desktop_sd.cli.gui import build_window
    from desktop_sd.cli.local_engine import LocalEngineFactory
    from desktop_sd.cli.speed_args import speed_options_from
    from desktop_sd.core.settings import Settings

    model, size, steps, jobs, device = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), argv[4]
    factory = LocalEngineFactory(device, speed=lambda: speed_options_from(Settings.load()))  # as gui.engine_factory
    _app, window = build_window(["--model", model], backend_factory=factory)
    window.prompt.update(prompt="a lighthouse on a cliff at dusk", steps=steps, width=size, height=size)

    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    marks: dict[str, float] = {}
    loop = QEventLoop()
    ended: list[str] = []

    def mark(name: str) -> None:
        marks[name] = time.perf_counter()
        beats.append(marks[name])

    def on_end(*args: object) -> None:
        ended.append(str(args[1]) if len(args) > 1 and isinstance(args[1], str) else "")
        if len(ended) == jobs:
            loop.quit()

    window.queue.warmed_up.connect(loop.quit)
    window.queue.job_finished.connect(on_end)
    window.queue.job_failed.connect(on_end)
    window.queue.job_cancelled.connect(on_end)
    def shown() -> None:  # as ``desktop-sd`` starts the warm-up, with the time noted
        mark("shown")
        window.queue.warm_up()

    after_first_paint(window, shown)
    heartbeat.start()
    window.show()
    QTimer.singleShot(600_000, loop.quit)
    loop.exec()  # the warm-up: the user is still typing
    mark("warmed_up")
    for _ in range(jobs):
        window.generation.generate()
    loop.exec()
    mark("done")
    heartbeat.stop()
    window.shutdown()
    errors = [e for e in ended if e]
    if len(ended) < jobs or errors or "shown" not in marks:
        raise RuntimeError(f"generation did not finish: {errors or 'timed out'}")
    warm = _stalls(beats, marks["shown"], marks["warmed_up"])
    generating = _stalls(beats, marks["warmed_up"], marks["done"])
    print(
        json.dumps(
            {
                "stall_p99_ms": generating["p99"],
                "stall_max_ms": generating["max"],
                "generation_s": round(marks["done"] - marks["warmed_up"], 2),
                "heartbeats": generating["beats"],
                "warm_up_s": round(marks["warmed_up"] - marks["shown"], 2),
                "warm_up_stall_p99_ms": warm["p99"],
                "warm_up_stall_max_ms": warm["max"],
            }
        )
    )
    return 0


def _stalls(beats: list[float], start: float, end: float) -> dict[str, float]:
    """How much later than due each heartbeat between ``start`` and ``end`` came: p99 and longest (ms)."""
    inside = [b for b in beats if start <= b <= end]
    stalls = sorted(max(0.0, (b - a) * 1000 - HEARTBEAT_MS) for a, b in itertools.pairwise(inside))
    p99 = stalls[min(len(stalls) - 1, int(len(stalls) * 0.99))] if stalls else 0.0
    return {"p99": round(p99, 2), "max": round(stalls[-1] if stalls else 0.0, 2), "beats": len(inside)}


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
        f"engine warm-up after the window showed: {stalls['warm_up_s']:.1f} s; GUI stalls meanwhile: "
        f"p99 {stalls['warm_up_stall_p99_ms']:.1f} ms, longest {stalls['warm_up_stall_max_ms']:.1f} ms"
    )
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
