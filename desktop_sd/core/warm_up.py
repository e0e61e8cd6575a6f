"""Getting a backend ready for its first job while the user is still typing: the slow imports, no model.

Importing torch, diffusers, transformers, peft and the rest runs C-extension start-up that holds
Python's GIL for tens of milliseconds at a time. Done inside the first job, those pauses land on
the GUI thread while the user watches the progress bar; the worker thread does them right after
the window is shown instead (``app.jobs.JobQueue.warm_up``).

A backend that has such work offers ``warm_up(stop)`` (``WarmsUp``); the rest (ComfyUI servers,
test stand-ins) have nothing to do and need nothing.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)


@runtime_checkable
class WarmsUp(Protocol):
    def warm_up(self, stop: threading.Event) -> None:
        """Do the slow first-time work a job would otherwise do (imports), loading no model.

        Returns soon after ``stop`` is set (quitting), and never raises: whatever fails here,
        the first job does again and reports.
        """
        ...


def warm_up(backend: object, stop: threading.Event) -> None:
    """``backend.warm_up(stop)`` where it has one; nothing for the others."""
    if isinstance(backend, WarmsUp) and not stop.is_set():
        backend.warm_up(stop)


def import_in_steps(modules: Iterable[str], stop: threading.Event) -> bool:
    """Import ``modules`` in order, one at a time, giving up before the next once ``stop`` is set.

    An import cannot be interrupted, so small steps keep quitting fast: it waits for one module
    at most. A module that fails to import is skipped (logged); the job that needs it reports it.
    Returns True when every step ran.
    """
    for name in modules:
        if stop.is_set():
            return False
        try:
            importlib.import_module(name)
        except Exception as exc:  # an optional or renamed module: the first job will say what is missing
            log.info("warm-up: importing %s failed (%s: %s)", name, type(exc).__name__, exc)
    return True
