"""Convert a pickle checkpoint (``.ckpt``/``.pt``/``.bin``) to ``.safetensors``, refusing anything but tensors.

Run in a child process (``desktop-sd models convert-ckpt SRC DST``) so a crash
or a huge allocation cannot take the app down. ``torch.load(weights_only=True)``
uses a restricted unpickler: a pickle that asks for any global outside plain
tensors and containers (``os.system``, a Lightning callback...) is refused
before anything in it runs. The output is written to a temp file, flushed,
read back and compared, then renamed; the source is never modified.
"""

from __future__ import annotations

import os
import pickle
import sys
import zipfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file


class ConversionError(Exception):
    """A checkpoint that was refused or could not be read; the message is for the user."""


def load_tensors(src: Path) -> dict[str, torch.Tensor]:
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = str(exc).split("Unsupported global:", 1)[-1].strip().splitlines()[0] if "global" in str(exc) else ""
        why = f" ({detail.rstrip('.')})" if detail else ""
        raise ConversionError(
            f"{src.name} was refused: it asks to run code, not just load weights{why}. "
            "Nothing from it was run. Get a .safetensors version of this model instead."
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ConversionError(f"{src.name} is not a readable checkpoint ({str(exc).splitlines()[0]}).") from None
    state = obj
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        state = obj["state_dict"]
    if not isinstance(state, dict):
        raise ConversionError(f"{src.name} holds no model weights Desktop SD recognises.")
    tensors = {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ConversionError(f"{src.name} holds no model weights.")
    return tensors


def _unshare(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors that share memory (tied weights): give each its own, contiguous."""
    seen: set[int] = set()
    out = {}
    for key, tensor in tensors.items():
        ptr = tensor.untyped_storage().data_ptr() if tensor.numel() else -1
        if ptr in seen or not tensor.is_contiguous():
            tensor = tensor.contiguous().clone()
        elif ptr != -1:
            seen.add(ptr)
        out[key] = tensor
    return out


def convert(src: Path, dst: Path) -> int:
    """Write ``dst`` from ``src``; returns the number of tensors. Raises ``ConversionError``."""
    tensors = _unshare(load_tensors(src))
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    try:
        save_file(tensors, str(tmp), metadata={"format": "pt", "converted_from": src.name})
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        with safe_open(str(tmp), framework="pt") as check:
            keys = set(check.keys())
            if keys != set(tensors):
                raise ConversionError(f"The converted copy of {src.name} did not read back whole.")
            for key in keys:
                if tuple(check.get_slice(key).get_shape()) != tuple(tensors[key].shape):
                    raise ConversionError(f"The converted copy of {src.name} did not read back whole ({key}).")
        os.replace(tmp, dst)
    except OSError as exc:
        raise ConversionError(f"Could not write {dst}: {exc.strerror or exc}.") from None
    finally:
        tmp.unlink(missing_ok=True)
    return len(tensors)


def main(argv: list[str]) -> int:
    """``SRC DST``: exit 0 on success, 2 with a one-line reason on stderr otherwise."""
    if len(argv) != 2:
        print("usage: convert-ckpt SRC DST", file=sys.stderr)
        return 2
    src, dst = Path(argv[0]), Path(argv[1])
    try:
        count = convert(src, dst)
    except ConversionError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except MemoryError:
        print(f"Not enough memory to convert {src.name}.", file=sys.stderr)
        return 2
    print(f"converted {count} tensors to {dst}")
    return 0
