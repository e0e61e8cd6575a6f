"""How long a job will take: from step and decode times measured on earlier jobs, remembered between sessions.

Each finished job leaves its seconds per step and its decode time, per model, device, size (batch included)
and decoder (the model's VAE or the fast TAESD). An estimate takes the same size when it was measured, and
otherwise scales the nearest measured size of that model and device by megapixels. Jobs whose steps were not
seen (a remote server's) count whole: seconds per step per megapixel. The first job of a model on the CPU,
with nothing measured yet, is judged by its size alone. The measurements live in a small JSON file
(``pace.json`` in the cache folder); a damaged one is ignored and rewritten.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_sd.core.atomic import atomic_write_bytes
from desktop_sd.core.request import GenerationRequest

log = logging.getLogger(__name__)

LONG_JOB_S = 5 * 60  # past this, the user is asked before the job starts
CPU_LARGE_MEGAPIXELS = 2.0  # unmeasured CPU jobs past this many megapixels (batch included) are asked about
MAX_ENTRIES = 200  # sizes remembered, newest kept


def megapixels(request: GenerationRequest) -> float:
    return request.width * request.height * request.batch_size / 1e6


def decoder_of(request: GenerationRequest) -> str:
    return "taesd" if request.fast_decode else "vae"


@dataclass
class _Timing:
    step_s: float
    decode_s: float


class Pace:
    """Measured times; ``path`` (None: kept in memory only) is where they are remembered."""

    def __init__(self, path: Path | None = None) -> None:
        self._s_per_step_mp: dict[tuple[str, str], float] = {}
        self._timings: dict[str, _Timing] = {}  # "model|device|WxHxB|decoder" -> times
        self._path = path
        if path is not None:
            self._load(path)

    # ---- measuring ---------------------------------------------------------------------------------
    def record(self, model: str, device: str, request: GenerationRequest, seconds: float) -> None:
        """A job of ``request`` took ``seconds`` (loading included, so estimates err on the long side)."""
        work = request.steps * megapixels(request)
        if work > 0 and seconds > 0:
            self._s_per_step_mp[(model, device)] = seconds / work

    def record_parts(self, model: str, device: str, request: GenerationRequest, step_s: float, decode_s: float) -> None:
        """A job of ``request`` took ``step_s`` per denoising step and ``decode_s`` to decode; remembered."""
        if step_s <= 0 or decode_s < 0 or not math.isfinite(step_s + decode_s):
            return
        key = _key(model, device, request.width, request.height, request.batch_size, decoder_of(request))
        self._timings.pop(key, None)  # newest last
        self._timings[key] = _Timing(step_s, decode_s)
        while len(self._timings) > MAX_ENTRIES:
            self._timings.pop(next(iter(self._timings)))
        self._save()

    # ---- estimating --------------------------------------------------------------------------------
    def estimate_s(self, model: str, device: str, request: GenerationRequest) -> float | None:
        """Seconds the steps and the decode of ``request`` will take (loading not included), or None."""
        timing = self._timing(model, device, request)
        if timing is not None:
            return timing.step_s * request.steps + timing.decode_s
        pace = self._s_per_step_mp.get((model, device))
        return None if pace is None else pace * request.steps * megapixels(request)

    def decode_s(self, model: str, device: str, request: GenerationRequest) -> float:
        """The decode's share of the estimate (0 when never measured): what a steps-only ETA leaves out."""
        timing = self._timing(model, device, request)
        return timing.decode_s if timing is not None else 0.0

    def _timing(self, model: str, device: str, request: GenerationRequest) -> _Timing | None:
        decoder = decoder_of(request)
        exact = self._timings.get(_key(model, device, request.width, request.height, request.batch_size, decoder))
        if exact is not None:
            return exact
        prefix, suffix = f"{model}|{device}|", f"|{decoder}"
        wanted = megapixels(request)
        best: tuple[float, _Timing] | None = None
        for key, timing in self._timings.items():
            if key.startswith(prefix) and key.endswith(suffix):
                measured = _key_megapixels(key)
                distance = abs(math.log(measured / wanted)) if measured > 0 and wanted > 0 else math.inf
                if best is None or distance < best[0]:
                    best = (distance, _Timing(timing.step_s * wanted / measured, timing.decode_s * wanted / measured))
        return best[1] if best is not None else None

    def warning(self, model: str, device: str, request: GenerationRequest) -> str | None:
        """What to tell the user before starting ``request``, or None when it looks reasonable."""
        seconds = self.estimate_s(model, device, request)
        size = f"{request.width}×{request.height}" + (f" × {request.batch_size}" if request.batch_size > 1 else "")
        if seconds is not None and seconds > LONG_JOB_S:
            return (
                f"{size} at {request.steps} steps will take about {round(seconds / 60)} min on this "
                f"{'CPU' if device == 'cpu' else 'device'}, judging by your last job. A smaller size (then "
                "upscaling) or fewer steps is much faster."
            )
        if seconds is None and device == "cpu" and megapixels(request) > CPU_LARGE_MEGAPIXELS:
            return (
                f"{size} is large for the CPU: each step can take minutes, and memory may run short. "
                "A smaller size (then upscaling) is much faster."
            )
        return None

    # ---- remembering -------------------------------------------------------------------------------
    def _load(self, path: Path) -> None:
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
            entries = data["timings"]
            for key, value in entries.items():
                step_s, decode_s = float(value[0]), float(value[1])
                if key.count("|") == 3 and step_s > 0 and decode_s >= 0:
                    self._timings[key] = _Timing(step_s, decode_s)
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            log.warning("measured times in %s could not be read (%s); measuring afresh", path, exc)
            self._timings.clear()

    def _save(self) -> None:
        if self._path is None:
            return
        timings = {key: [round(t.step_s, 4), round(t.decode_s, 4)] for key, t in self._timings.items()}
        data = {"format": 1, "timings": timings}
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self._path, json.dumps(data, indent=1).encode("utf-8"))
        except OSError as exc:  # an estimate is a convenience: never an error for the user
            log.warning("measured times could not be saved in %s (%s)", self._path, exc)


def describe(seconds: float | None) -> str:
    """An estimate as people say it ("about 45 s", "about 3 min"); "" when nothing is known yet."""
    if seconds is None:
        return ""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    return f"about {round(seconds / 60)} min"


def _key(model: str, device: str, width: int, height: int, batch: int, decoder: str) -> str:
    return f"{model.replace('|', '/')}|{device}|{width}x{height}x{batch}|{decoder}"


def _key_megapixels(key: str) -> float:
    try:
        width, height, batch = (int(part) for part in key.split("|")[2].split("x"))
    except ValueError:
        return 0.0
    return width * height * batch / 1e6
