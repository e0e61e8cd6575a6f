"""The memory ladder as plain decisions: which tier to start at, which comes next,
what each tier switches on, and which tier worked last time.

Kept apart from the torch calls (``placement``) so it is testable without a GPU.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from desktop_sd.core import paths
from desktop_sd.core.atomic import atomic_write_bytes
from desktop_sd.core.disk_errors import describe_os_error
from desktop_sd.core.request import MemoryTier

log = logging.getLogger(__name__)

GIB = 1024**3
# Room for activations, the VAE decode and the CUDA context, on top of the weights.
WORKING_MARGIN = 1.5 * GIB
MEMORY_FILE = "memory-tiers.json"


@dataclass(frozen=True)
class TierSetup:
    """What a tier switches on besides its offload (which the tier itself names)."""

    vae_tiling: bool
    attention_slicing: bool


SETUPS: dict[MemoryTier, TierSetup] = {
    MemoryTier.GPU: TierSetup(vae_tiling=False, attention_slicing=False),
    MemoryTier.MODEL_OFFLOAD: TierSetup(vae_tiling=False, attention_slicing=False),
    MemoryTier.SEQUENTIAL_OFFLOAD: TierSetup(vae_tiling=True, attention_slicing=True),
}


def choose_start_tier(
    ladder: tuple[MemoryTier, ...],
    free_bytes: int | None,
    model_bytes: int,
    largest_bytes: int,
    remembered: MemoryTier | None = None,
) -> MemoryTier:
    """The best tier that should fit, never better than the one remembered for this model and device.

    ``free_bytes`` None means the free memory is unknown (the CPU): start at the top.
    """
    estimate = ladder[0]
    if free_bytes is not None:
        if free_bytes >= model_bytes + WORKING_MARGIN:
            estimate = MemoryTier.GPU
        elif free_bytes >= largest_bytes + WORKING_MARGIN:
            estimate = MemoryTier.MODEL_OFFLOAD
        else:
            estimate = MemoryTier.SEQUENTIAL_OFFLOAD
    candidates = [t for t in (estimate, remembered) if t is not None and t in ladder]
    if not candidates:
        return ladder[0]
    return max(candidates, key=ladder.index)


def next_tier(ladder: tuple[MemoryTier, ...], tier: MemoryTier) -> MemoryTier | None:
    """The next tier down the ladder, or None at the bottom."""
    index = ladder.index(tier) if tier in ladder else -1
    return ladder[index + 1] if index + 1 < len(ladder) else None


class TierMemory:
    """The tier that worked per (model, device), in a small JSON file under the data folder."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        return self._path or paths.data_dir() / MEMORY_FILE

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, model_id: str, device_key: str) -> MemoryTier | None:
        value = self._read().get(f"{model_id}|{device_key}")
        try:
            return MemoryTier(value) if value else None
        except ValueError:
            return None

    def put(self, model_id: str, device_key: str, tier: MemoryTier) -> None:
        """Record a tier (written atomically; a failure to write only loses the hint)."""
        data = self._read()
        data[f"{model_id}|{device_key}"] = str(tier)
        try:
            path = self.path
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, json.dumps(data, indent=2, sort_keys=True).encode("utf-8"))
        except OSError as exc:
            log.warning("The memory tier that worked could not be remembered: %s", describe_os_error(exc))
