"""Download progress: bytes done of total, speed, time left; reported a few times a second."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    done: int
    total: int  # 0 when unknown
    bytes_per_s: float

    @property
    def seconds_left(self) -> float | None:
        if self.total <= 0 or self.bytes_per_s <= 0:
            return None
        return max(self.total - self.done, 0) / self.bytes_per_s


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s left"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s left"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min left"


class Meter:
    """Collects byte counts from downloader threads and calls ``report`` at most ``rate`` times a second.

    Speed is measured over the last few seconds of bytes really received; bytes
    found already on disk (a resume) count towards ``done`` but not towards speed.
    """

    WINDOW_S = 5.0

    def __init__(self, report: Callable[[Progress], None], total: int = 0, rate: float = 5.0) -> None:
        self._report = report
        self._lock = threading.Lock()
        self._interval = 1.0 / rate
        self._last_report = 0.0
        self._samples: deque[tuple[float, int]] = deque()
        self.total = total
        self.done = 0

    def resumed(self, offset: int) -> None:
        with self._lock:
            self.done += offset
        self._maybe_report()

    def received(self, count: int) -> None:
        now = time.monotonic()
        with self._lock:
            self.done += count
            self._samples.append((now, count))
            while self._samples and now - self._samples[0][0] > self.WINDOW_S:
                self._samples.popleft()
        self._maybe_report()

    def snapshot(self) -> Progress:
        now = time.monotonic()
        with self._lock:
            samples = [(t, n) for t, n in self._samples if now - t <= self.WINDOW_S]
            done, total = self.done, self.total
        speed = 0.0
        if samples:
            span = max(now - samples[0][0], 0.25)
            speed = sum(n for _, n in samples) / span
        return Progress(done, total, speed)

    def flush(self) -> None:
        self._last_report = time.monotonic()
        self._report(self.snapshot())

    def _maybe_report(self) -> None:
        now = time.monotonic()
        if now - self._last_report >= self._interval:
            self._last_report = now
            self._report(self.snapshot())
