"""Names the user reads for the app's own ideas, one set for every widget that shows them."""

from __future__ import annotations

from desktop_sd.core.request import Mode


def mode_name(mode: Mode, mask_in_frame: bool = False) -> str:
    """What the canvas will do; an outpaint that also repaints a mask inside the frame says so."""
    if mode is Mode.OUTPAINT and mask_in_frame:
        return "Outpaint + inpaint"
    return MODE_NAMES[mode]


MODE_NAMES = {
    Mode.TXT2IMG: "Text to image",
    Mode.IMG2IMG: "Image to image",
    Mode.INPAINT: "Inpaint",
    Mode.OUTPAINT: "Outpaint",
}
