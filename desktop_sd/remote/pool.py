"""Several servers behind one ``Backend``: each job goes to the least busy reachable server that has its model.

The local engine can be a member too (``LocalMember``), so local and remote
run side by side. A server that cannot be reached is skipped until its
backoff ends (1 s, doubling up to a minute); a server lost mid-job hands
the job to the next candidate, and when none is left the job fails with a
message naming each server and why it was passed over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from desktop_sd.core.backend import Backend, BackendStatus, StepCallback
from desktop_sd.core.errors import Cancelled, ServerError, ServerLost
from desktop_sd.core.request import GenerationRequest, GenerationResult

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0


class Member(Protocol):
    """What the pool needs of a server."""

    @property
    def name(self) -> str: ...

    def generate(
        self, request: GenerationRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> GenerationResult: ...

    def status(self) -> BackendStatus: ...

    def queue_length(self) -> int:
        """Jobs running or waiting there. Raises ``ServerLost`` when unreachable."""
        ...

    def checkpoint_for(self, model: str) -> str:
        """The member's name for ``model``. Raises ``ServerError`` when it does not have it."""
        ...


class LocalMember:
    """The local engine as a pool member: always reachable, resolves models itself."""

    def __init__(self, backend: Backend, name: str = "This computer") -> None:
        self.backend = backend
        self._name = name
        self._running = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def generate(
        self, request: GenerationRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> GenerationResult:
        with self._lock:
            self._running += 1
        try:
            return self.backend.generate(request, on_step, cancelled)
        finally:
            with self._lock:
                self._running -= 1

    def status(self) -> BackendStatus:
        return self.backend.status()

    def queue_length(self) -> int:
        return self._running

    def checkpoint_for(self, model: str) -> str:
        return model


class State(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class MemberState:
    """One line of the status bar: ``name``, its state and queue length, and the last error."""

    name: str
    state: State
    queue: int = 0
    error: str = ""


class _Health:
    def __init__(self) -> None:
        self.failures = 0
        self.retry_at = 0.0
        self.error = ""


class ServerPool:
    """Picks a member per job (``Backend`` itself). ``clock`` is injectable for tests of the backoff."""

    def __init__(self, members: Sequence[Member], clock: Callable[[], float] = time.monotonic) -> None:
        if not members:
            raise ValueError("a pool needs at least one member")
        self.members = list(members)
        self._clock = clock
        self._health = {m.name: _Health() for m in self.members}
        self._assigned = {m.name: 0 for m in self.members}  # our own jobs in flight there
        self._lock = threading.Lock()

    def generate(
        self, request: GenerationRequest, on_step: StepCallback, cancelled: threading.Event
    ) -> GenerationResult:
        """Run on the least busy member that has the model; on to the next if one is lost mid-job."""
        passed_over: list[str] = []
        tried: set[str] = set()
        while True:
            member = self._choose(request.model, tried, passed_over)
            if member is None:
                reasons = "; ".join(passed_over) or "no server is configured"
                raise ServerError(f"No server could run the job ({reasons}).")
            tried.add(member.name)
            with self._lock:
                self._assigned[member.name] += 1
            try:
                result = member.generate(request, on_step, cancelled)
            except ServerLost as exc:
                if cancelled.is_set():
                    raise Cancelled("Cancelled.") from None
                self._failed(member.name, str(exc))
                passed_over.append(f"{member.name}: {exc}")
                continue
            finally:
                with self._lock:
                    self._assigned[member.name] -= 1
            self._recovered(member.name)
            return result

    def status(self) -> BackendStatus:
        """The first reachable member's status (the pool's detail is in ``states``)."""
        for member in self.members:
            if self._available(member.name):
                return member.status()
        return self.members[0].status()

    def states(self) -> list[MemberState]:
        """Each member now: idle, busy with its queue length, or unreachable (asks each reachable one)."""
        out = []
        for member in self.members:
            health = self._health[member.name]
            if not self._available(member.name):
                out.append(MemberState(member.name, State.UNREACHABLE, error=health.error))
                continue
            try:
                queue = member.queue_length()
            except ServerLost as exc:
                self._failed(member.name, str(exc))
                out.append(MemberState(member.name, State.UNREACHABLE, error=str(exc)))
                continue
            self._recovered(member.name)
            out.append(MemberState(member.name, State.BUSY if queue else State.IDLE, queue))
        return out

    # ---- choosing ------------------------------------------------------------------------

    def _choose(self, model: str, tried: set[str], passed_over: list[str]) -> Member | None:
        """The member with the shortest queue (ties: fewest of our jobs, then list order)."""
        candidates: list[tuple[int, int, int, Member]] = []
        for index, member in enumerate(self.members):
            if member.name in tried:
                continue
            if not self._available(member.name):
                passed_over.append(f"{member.name}: unreachable, retrying later")
                tried.add(member.name)
                continue
            try:
                member.checkpoint_for(model)
                queue = member.queue_length()
            except ServerLost as exc:
                self._failed(member.name, str(exc))
                passed_over.append(f"{member.name}: {exc}")
                tried.add(member.name)
                continue
            except ServerError as exc:
                passed_over.append(f"{member.name}: {exc}")
                tried.add(member.name)
                continue
            with self._lock:
                mine = self._assigned[member.name]
            candidates.append((queue, mine, index, member))
        if not candidates:
            return None
        return min(candidates, key=lambda c: c[:3])[3]

    def _available(self, name: str) -> bool:
        with self._lock:
            return self._clock() >= self._health[name].retry_at

    def _failed(self, name: str, error: str) -> None:
        with self._lock:
            health = self._health[name]
            delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2**health.failures)
            health.failures += 1
            health.retry_at = self._clock() + delay
            health.error = error

    def _recovered(self, name: str) -> None:
        with self._lock:
            health = self._health[name]
            health.failures, health.retry_at, health.error = 0, 0.0, ""
