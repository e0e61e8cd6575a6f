"""The gallery's details pane: every parameter of the selected image, selectable for copying."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop_sd.core.schedulers import SCHEDULER_IDS, scheduler_info
from desktop_sd.library.records import ImageRecord
from desktop_sd.ui.names import MODE_NAMES

DETAIL_ROWS = 11  # lines of details shown before the pane scrolls, where the dock is tall enough

def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def describe(record: ImageRecord) -> list[tuple[str, str]]:
    """``(label, value)`` rows for a record, in the order shown."""
    sampler = record.parameters.get("sampler") or ""
    if record.scheduler in SCHEDULER_IDS and record.scheduler != "default":
        sampler = scheduler_info(record.scheduler).label
    rows = [
        ("Prompt", record.prompt or "—"),
        ("Negative prompt", record.negative_prompt or "—"),
        ("Model", record.model or "—"),
        ("Sampler", sampler or "Model default"),
        ("Steps", _number(record.steps)),
        ("CFG scale", _number(record.cfg_scale)),
        ("Seed", "—" if record.seed is None else str(record.seed)),
        ("Size", f"{record.width} × {record.height}"),
        ("Mode", MODE_NAMES.get(record.mode, str(record.mode))),
    ]
    if record.strength is not None:
        rows.append(("Strength", _number(record.strength)))
    rows += [
        ("Made", record.created.astimezone().strftime("%Y-%m-%d %H:%M:%S")),
        ("Made with", record.source or "unknown"),
        ("Favourite", "yes" if record.favourite else "no"),
        ("Rating", "★" * record.rating if record.rating else "—"),
        ("Tags", ", ".join(record.tags) or "—"),
    ]
    if record.parent_id is not None:
        rows.append(("Made from", f"image #{record.parent_id}"))
    server = record.parameters.get("server")
    if server:
        rows.append(("Server", str(server)))
    rows.append(("File", str(record.path)))
    return rows


class DetailsPane(QTextBrowser):
    """Shows one record (or a count when several are selected)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setAccessibleName("Image details")
        self.show_record(None)

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.fontMetrics().lineSpacing() * DETAIL_ROWS)

    def show_record(self, record: ImageRecord | None, selected: int = 1) -> None:
        if record is None:
            self.setHtml("<p style='color:gray'>Select an image to see how it was made.</p>")
            return
        html = []
        if record.missing:
            html.append("<p style='color:#d66'><b>The file is missing.</b> Its parameters are kept.</p>")
        if selected > 1:
            html.append(f"<p><b>{selected} images selected</b>; showing the current one.</p>")
        html.append("<table cellspacing='2'>")
        for label, value in describe(record):
            text = escape(value).replace("\n", "<br>")
            html.append(f"<tr><td valign='top' style='color:gray'>{escape(label)}</td><td>{text}</td></tr>")
        html.append("</table>")
        self.setHtml("".join(html))
