"""Model families behind one interface (``FamilySpec``), one module each.

To add a family: write ``families/<name>.py`` with a ``FamilySpec`` subclass and its ``SPEC``, add
the ``Family`` value in ``core.request``, and list the spec in ``SPECS`` below. The loader finds it by
the folder's ``model_index.json`` class name or the detected ``Family``; the engine asks it how to
call, decode and preview.
"""

from __future__ import annotations

from diffusers import DiffusionPipeline

from desktop_sd.core.request import Family
from desktop_sd.engine.families import flux, sd, sd3, sdxl
from desktop_sd.engine.families.base import FamilySpec

SPECS: tuple[FamilySpec, ...] = (sd.SPEC, sdxl.SPEC, sd3.SPEC, flux.SPEC)


def spec_for_family(family: Family) -> FamilySpec | None:
    """The spec that runs ``family``, or None (``Family.UNKNOWN``)."""
    return next((spec for spec in SPECS if family in spec.families), None)


def spec_for_class_name(class_name: str) -> FamilySpec | None:
    """The spec of a diffusers folder whose ``model_index.json`` names ``class_name``, or None."""
    return next((spec for spec in SPECS if class_name in spec.folder_classes), None)


def spec_for_pipeline(pipe: DiffusionPipeline) -> FamilySpec:
    """The spec of an already built pipeline (one of the families' classes, or SD-like by default)."""
    return next((spec for spec in SPECS if spec.owns(pipe)), sd.SPEC)


__all__ = ["SPECS", "FamilySpec", "spec_for_class_name", "spec_for_family", "spec_for_pipeline"]
