"""What a model file's suffix says about it: one list for the models and the engine layers.

A pickle checkpoint can carry code, so it is never loaded in the app's
process: it is refused with a pointer to Models > Import, which converts it
in a child process (``models.converter_process``).

``.pkl`` is left out on purpose. No Stable Diffusion checkpoint is shared
under that name (they come as ``.ckpt``, ``.pt``, ``.pth`` or ``.bin``, all
written by ``torch.save``), and a ``.pkl`` is usually a plain ``pickle.dump``
that the converter cannot read: offering to import one would promise a
conversion that fails. It is refused all the same, as any file that is not
``.safetensors`` is: leaving it out only changes which message explains why.
"""

from __future__ import annotations

from pathlib import Path

import psutil

from desktop_sd.core.errors import ModelError

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


def _gigabytes(size: int) -> str:
    return f"{size / 1024**3:,.1f} GB"


def larger_than_memory(name: str, size: int, memory: int) -> str:
    """The message for a model file that claims more weights than the computer could ever hold."""
    return (
        f"{name} claims {_gigabytes(size)} of weights, more than this computer's memory ({_gigabytes(memory)}), so it "
        "could never be loaded. Stable Diffusion models are 2 to 7 GB: the file is probably damaged; "
        "download or copy it again."
    )


def check_fits_memory(path: Path) -> None:
    """Refuse a model file larger than this computer's memory and swap together: it could never be loaded
    (a damaged header or a sparse file claiming hundreds of GB). Checked at import, before anything is
    copied, and again before loading maps the file."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    memory = int(psutil.virtual_memory().total + psutil.swap_memory().total)
    if size > memory:
        raise ModelError(larger_than_memory(path.name, size, memory))
