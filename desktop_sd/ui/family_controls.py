"""Fitting the sampling controls to the chosen model's family.

Flow-matching families (SD 3, Flux) run only the flow-matching schedulers, so the sampler list
hides the others for them; Flux dev reads the CFG value as distilled guidance, so it is called
"Guidance" there. They also run with their own VAE only and read no clip skip (the engine refuses a
separate VAE for them by name), so those two controls are greyed out with a tooltip saying why.
"""

from __future__ import annotations

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QListView, QPlainTextEdit, QWidget

from desktop_sd.core.params import CFG_SCALE
from desktop_sd.core.request import Family
from desktop_sd.core.schedulers import scheduler_ids_for

GUIDANCE_LABELS = {Family.FLUX: "Guidance"}
OWN_VAE_ONLY = frozenset({Family.SD3, Family.FLUX})
OWN_VAE_TIP = "SD 3 and Flux.1 models decode with their own VAE and read no clip skip"
NO_NEGATIVE_FAMILIES = frozenset({Family.FLUX})  # distilled guidance: one pass a step, no negative prompt
NO_NEGATIVE_PLACEHOLDER = "Flux.1 takes no negative prompt (describe what you want instead)"
GUIDANCE_TIPS = {
    Family.FLUX: "Flux dev's distilled guidance (about 3.5); one pass a step, no negative prompt. "
    "Flux schnell has none."
}


def fit_to_family(form: QFormLayout, scheduler_combo: QComboBox, cfg_spin: QWidget, family: Family) -> str | None:
    """Hide the samplers ``family`` cannot run and name the guidance control as the family uses it.

    Returns "default" when the sampler chosen now is one of the hidden ones (the caller switches to
    it), else None.
    """
    allowed = set(scheduler_ids_for(family))
    view = scheduler_combo.view()
    items = scheduler_combo.model()
    for row in range(scheduler_combo.count()):
        shown = scheduler_combo.itemData(row) in allowed
        if isinstance(view, QListView):
            view.setRowHidden(row, not shown)
        if isinstance(items, QStandardItemModel):
            item = items.item(row)
            if item is not None:
                item.setEnabled(shown)  # the arrow keys and the wheel skip it too
    label = form.labelForField(cfg_spin)
    if isinstance(label, QLabel):
        label.setText(GUIDANCE_LABELS.get(family, CFG_SCALE.label))
    cfg_spin.setToolTip(GUIDANCE_TIPS.get(family, CFG_SCALE.tooltip))
    return "default" if scheduler_combo.currentData() not in allowed else None


def fit_extras(vae_combo: QComboBox, clip_skip_spin: QWidget, family: Family, tips: tuple[str, str]) -> bool:
    """Grey out the VAE chooser and clip skip for a family that uses neither; ``tips`` are their usual
    tooltips. Returns True when a separate VAE is chosen now that the family cannot use (the caller
    goes back to the model's own)."""
    own_only = family in OWN_VAE_ONLY
    for widget, tip in zip((vae_combo, clip_skip_spin), tips, strict=True):
        widget.setEnabled(not own_only)
        widget.setToolTip(OWN_VAE_TIP if own_only else tip)
    return own_only and bool(vae_combo.currentData())


def fit_negative(edit: QPlainTextEdit, count: QLabel, family: Family, placeholder: str) -> None:
    """Grey out the negative prompt (and hide its token count) for a family that reads none (Flux: the
    engine drops it with a notice); its text is kept for the next model that reads it. ``placeholder``
    is the box's usual one."""
    unused = family in NO_NEGATIVE_FAMILIES
    edit.setEnabled(not unused)
    edit.setPlaceholderText(NO_NEGATIVE_PLACEHOLDER if unused else placeholder)
    count.setVisible(not unused)
