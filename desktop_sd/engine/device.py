"""Which device runs the model, in which precision, and how much memory it has free."""

from __future__ import annotations

import gc
from dataclasses import dataclass

import torch

from desktop_sd.core.errors import InputError
from desktop_sd.core.request import MemoryTier

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


@dataclass(frozen=True)
class Device:
    kind: str  # "cuda", "mps" or "cpu"
    torch_device: torch.device
    dtype: torch.dtype  # the UNet's and text encoders'
    name: str
    vae_dtype: torch.dtype | None = None  # the VAE's, when it differs (float32 beside a bfloat16 UNet on the CPU)

    @property
    def decode_dtype(self) -> torch.dtype:
        """The VAE's (and the fast decoder's) precision."""
        return self.vae_dtype or self.dtype

    @property
    def key(self) -> str:
        """Identifies this device across runs (for remembered memory tiers)."""
        return f"{self.kind}:{self.name}"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(requested: str = "auto") -> Device:
    """Resolve ``auto``/``cuda``/``cuda:N``/``mps``/``cpu``; fp16 on a GPU, fp32 on the CPU."""
    choice = (requested or "auto").strip().lower()
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    if choice == "cuda" or choice.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InputError("No CUDA GPU is available on this computer. Choose device 'auto' or 'cpu'.")
        index = int(choice.split(":", 1)[1]) if ":" in choice else torch.cuda.current_device()
        if not 0 <= index < torch.cuda.device_count():
            raise InputError(f"There is no CUDA device {index}. Choose device 'cuda' or 'auto'.")
        return Device("cuda", torch.device("cuda", index), torch.float16, torch.cuda.get_device_name(index))
    if choice == "mps":
        if not _mps_available():
            raise InputError("Apple's Metal (MPS) is not available on this computer. Choose device 'auto' or 'cpu'.")
        return Device("mps", torch.device("mps"), torch.float16, "Apple GPU (Metal)")
    if choice == "cpu":
        return Device("cpu", torch.device("cpu"), torch.float32, "CPU")
    raise InputError(f"Unknown device {requested!r}; choose one of: {', '.join(DEVICE_CHOICES)}.")


def ladder(device: Device) -> tuple[MemoryTier, ...]:
    """Memory tiers worth trying on this device, best first. On the CPU there is nothing to offload to."""
    if device.kind == "cpu":
        return (MemoryTier.GPU,)
    return tuple(MemoryTier)


def free_memory(device: Device) -> int | None:
    """Free accelerator memory in bytes, or None on the CPU."""
    try:
        if device.kind == "cuda":
            free, _total = torch.cuda.mem_get_info(device.torch_device)
            return int(free)
        if device.kind == "mps":
            return int(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
    except (RuntimeError, AttributeError):
        return None
    return None


def free_caches(device: Device) -> None:
    """Give freed tensors back to the device (after an out-of-memory error, or on unload)."""
    gc.collect()
    if device.kind == "cuda":
        torch.cuda.empty_cache()
    elif device.kind == "mps":
        torch.mps.empty_cache()


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA raises ``torch.OutOfMemoryError``; MPS and the CPU allocator raise a RuntimeError."""
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return "out of memory" in text or "can't allocate memory" in text
    return False
