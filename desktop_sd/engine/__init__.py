"""The generation engine: diffusers pipelines behind ``core.backend.Backend``.

Only this package imports torch, diffusers and transformers.
"""

from desktop_sd.engine.engine import Engine

__all__ = ["Engine"]
