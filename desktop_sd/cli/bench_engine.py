"""``desktop-sd bench engine``: the engine's overhead over a plain diffusers call.

One process, one random-weight pipeline (at the real SD 1.5 size by
default), the same request run alternately through the ``Engine`` and
through the pipeline itself, after a warm-up of each. Prints per-round
figures, then the overhead ratio (engine median / diffusers median; goal
<= 1.03) and the peak-memory difference (goal <= 150 MB; CUDA's
``max_memory_allocated`` on a GPU, the peak RSS on the CPU). The last line
is one JSON object.

On the CPU a third contender joins the same alternation: the engine with the
CPU settings the app chooses automatically (bfloat16 where the CPU runs it
natively, one thread per physical core). Its median against plain diffusers
with its defaults (float32) is ``cpu_speedup_vs_diffusers_fp32`` (goal >= 1.4
on a CPU with native bfloat16, >= 1.0 elsewhere), and the largest pixel
difference between their final images is ``max_abs_diff_vs_fp32``.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_sd.core.settings import CPU_PRECISIONS

if TYPE_CHECKING:
    from desktop_sd.engine.random_models import Size

RATIO_GOAL = 1.03
MEMORY_GOAL_MB = 150.0
MB = 1024 * 1024
GPU_DEFAULTS = {"size": 512, "steps": 20, "rounds": 5}
# 2-core CPUs take ~2 s a step at 128 px with SD 1.5 weights; keep the run to a few minutes.
CPU_DEFAULTS = {"size": 128, "steps": 4, "rounds": 3}
SPEEDUP_GOAL_NATIVE_BF16 = 1.4
SPEEDUP_GOAL = 1.0
PROMPT = "a lighthouse on a cliff at dusk, oil painting"


def register(benches: argparse._SubParsersAction) -> None:
    parser = benches.add_parser("engine", help="engine overhead against plain diffusers")
    parser.add_argument("--size", type=int, help="image side in pixels (default 512 on a GPU, 128 on the CPU)")
    parser.add_argument("--steps", type=int, help="denoising steps (default 20 on a GPU, 4 on the CPU)")
    parser.add_argument("--rounds", type=int, help="timed rounds after the warm-up (default 5 on a GPU, 3 on the CPU)")
    parser.add_argument("--model-size", choices=("tiny", "sd15"), default="sd15", help="random weights (default sd15)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument(
        "--cpu-precision",
        choices=CPU_PRECISIONS,
        default="auto",
        help="the fast engine's CPU precision in the speed-up comparison (default auto, as the app)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from desktop_sd.cli.generate import quiet_libraries
    from desktop_sd.core.errors import DesktopSDError

    quiet_libraries()
    try:
        report = bench(
            args.model_size,
            args.device,
            args.size,
            args.steps,
            args.rounds,
            out=sys.stdout,
            cpu_precision=args.cpu_precision,
        )
    except DesktopSDError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, sort_keys=True))
    return 0


def bench(
    model_size: Size,
    device_choice: str,
    size: int | None = None,
    steps: int | None = None,
    rounds: int | None = None,
    out: Any = None,
    cpu_precision: str = "auto",
) -> dict[str, Any]:
    """Run the benchmark and return its figures (per-round lines go to ``out``)."""
    import torch

    from desktop_sd.core.request import GenerationRequest, Mode
    from desktop_sd.engine import Engine, speed
    from desktop_sd.engine.device import pick_device
    from desktop_sd.engine.random_models import build_pipeline

    def say(text: str) -> None:
        if out is not None:
            print(text, file=out, flush=True)

    device = pick_device(device_choice)
    defaults = CPU_DEFAULTS if device.kind == "cpu" else GPU_DEFAULTS
    size = size or defaults["size"]
    steps = steps or defaults["steps"]
    rounds = rounds or defaults["rounds"]
    say(f"building a random {model_size} pipeline on {device.name} ({device.dtype}) ...")
    started = time.perf_counter()
    pipe = build_pipeline(model_size).to(dtype=device.dtype)
    engine = Engine(resolve=_no_resolve, device=device_choice)
    engine.use_pipeline("bench", pipe, device=device_choice)
    runs: dict[str, Callable[[], None]] = {}
    images: dict[str, Any] = {}
    fast_device = None
    if device.kind == "cpu":  # the app's automatic CPU settings on a copy of the same weights
        options = speed.SpeedOptions.automatic(cpu_precision)
        fast_engine = Engine(resolve=_no_resolve, device=device_choice, speed_options=options)
        fast_engine.use_pipeline("bench", copy.deepcopy(pipe), device=device_choice)
        fast_device = speed.tuned(device, options)
        say(
            f"fast engine: {fast_device.dtype} UNet and text encoder, {fast_device.decode_dtype} VAE, "
            f"{options.cpu_threads} threads"
        )

        def through_fast_engine() -> None:
            images["fast"] = fast_engine.generate(request, lambda *_: None, cancelled).images[0]

        runs["fast"] = through_fast_engine
    say(f"built in {time.perf_counter() - started:.1f} s; {size}x{size}, {steps} steps, {rounds} rounds")

    request = GenerationRequest(
        Mode.TXT2IMG, PROMPT, model="bench", width=size, height=size, steps=steps, seed=1, device=device_choice
    )
    cancelled = threading.Event()

    def through_engine() -> None:
        engine.generate(request, lambda *_: None, cancelled)

    def through_diffusers() -> None:
        images["diffusers"] = pipe(
            prompt=PROMPT,
            negative_prompt="",
            width=size,
            height=size,
            num_inference_steps=steps,
            guidance_scale=request.cfg_scale,
            generator=torch.Generator("cpu").manual_seed(1),
        ).images[0]

    meter = _MemoryMeter(device.kind)
    say("warm-up ...")
    runs = {"engine": through_engine, "diffusers": through_diffusers, **runs}
    for action in runs.values():
        action()  # the engine's first call also places the pipeline on the device
    times: dict[str, list[float]] = {name: [] for name in runs}
    peaks: dict[str, list[float]] = {name: [] for name in runs}
    for index in range(rounds):
        order = list(runs) if index % 2 == 0 else list(reversed(runs))  # cancel out drift
        for name in order:
            seconds, peak = meter.measure(runs[name])
            times[name].append(seconds)
            peaks[name].append(peak)
        say(
            f"round {index + 1}/{rounds}: engine {times['engine'][-1]:.3f} s ({peaks['engine'][-1]:.0f} MB peak), "
            f"diffusers {times['diffusers'][-1]:.3f} s ({peaks['diffusers'][-1]:.0f} MB peak)"
            + (f", fast engine {times['fast'][-1]:.3f} s" if "fast" in times else "")
        )
    engine_median = statistics.median(times["engine"])
    diffusers_median = statistics.median(times["diffusers"])
    ratio = engine_median / diffusers_median
    memory_delta = statistics.median(peaks["engine"]) - statistics.median(peaks["diffusers"])
    say(
        f"overhead ratio {ratio:.3f} (goal <= {RATIO_GOAL}); peak memory difference {memory_delta:+.0f} MB "
        f"(goal <= {MEMORY_GOAL_MB:.0f} MB, {meter.method})"
    )
    engine.unload()
    speedup = diff = None
    if fast_device is not None:
        speedup = diffusers_median / statistics.median(times["fast"])
        diff = _max_abs_diff(images["fast"], images["diffusers"])
        goal = SPEEDUP_GOAL_NATIVE_BF16 if fast_device.dtype == torch.bfloat16 else SPEEDUP_GOAL
        say(
            f"CPU speed-up against plain diffusers in float32: {speedup:.2f}x (goal >= {goal}) with "
            f"{str(fast_device.dtype).removeprefix('torch.')}; largest pixel difference {diff}"
        )
    return {
        "overhead_ratio": round(ratio, 4),
        "peak_mem_delta_mb": round(memory_delta, 1),
        "ratio_goal_met": ratio <= RATIO_GOAL,
        "memory_goal_met": memory_delta <= MEMORY_GOAL_MB,
        "size": size,
        "steps": steps,
        "rounds": rounds,
        "model_size": model_size,
        "device": device.kind,
        "device_name": device.name,
        "dtype": str(device.dtype).removeprefix("torch."),
        "memory_method": meter.method,
        "engine_median_s": round(engine_median, 4),
        "diffusers_median_s": round(diffusers_median, 4),
        "engine_s": [round(t, 4) for t in times["engine"]],
        "diffusers_s": [round(t, 4) for t in times["diffusers"]],
        "engine_peak_mb": [round(p, 1) for p in peaks["engine"]],
        "diffusers_peak_mb": [round(p, 1) for p in peaks["diffusers"]],
        "fast_s": [round(t, 4) for t in times.get("fast", [])],
        "fast_dtype": str(fast_device.dtype).removeprefix("torch.") if fast_device is not None else None,
        "cpu_speedup_vs_diffusers_fp32": round(speedup, 3) if speedup is not None else None,
        "max_abs_diff_vs_fp32": diff,
    }


def _max_abs_diff(a: Any, b: Any) -> int:
    import numpy as np

    return int(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).max())


def _no_resolve(name: str) -> Any:
    raise AssertionError(f"the benchmark adopts its pipeline; nothing should resolve {name!r}")


class _MemoryMeter:
    """Wall time and peak memory above the starting point of one call.

    CUDA: ``max_memory_allocated``. CPU on Linux: the kernel's peak-RSS mark
    (reset through ``/proc/self/clear_refs``); elsewhere a sampling thread.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "cuda":
            self.method = "cuda max_memory_allocated"
        elif _reset_peak_rss():
            self.method = "peak RSS (VmHWM)"
        else:
            self.method = "sampled RSS"

    def measure(self, action: Callable[[], None]) -> tuple[float, float]:
        import torch

        if self.kind == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            started = time.perf_counter()
            action()
            torch.cuda.synchronize()
            seconds = time.perf_counter() - started
            return seconds, (torch.cuda.max_memory_allocated() - base) / MB
        if self.method == "peak RSS (VmHWM)":
            base = _rss()
            _reset_peak_rss()
            started = time.perf_counter()
            action()
            seconds = time.perf_counter() - started
            return seconds, (_status_kb("VmHWM") * 1024 - base) / MB
        return self._sampled(action)

    def _sampled(self, action: Callable[[], None]) -> tuple[float, float]:
        base = _rss()
        peak = [base]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.01):
                peak[0] = max(peak[0], _rss())

        sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
        sampler.start()
        started = time.perf_counter()
        try:
            action()
        finally:
            seconds = time.perf_counter() - started
            done.set()
            sampler.join()
        return seconds, (max(peak[0], _rss()) - base) / MB


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kb("VmHWM") > 0
    except OSError:
        return False


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0
