"""Names the user reads for the app's own ideas, one set for every widget that shows them."""

from __future__ import annotations

from desktop_sd.core.request import Mode

MODE_NAMES = {
    Mode.TXT2IMG: "Text to image",
    Mode.IMG2IMG: "Image to image",
    Mode.INPAINT: "Inpaint",
    Mode.OUTPAINT: "Outpaint",
}
