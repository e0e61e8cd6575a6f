"""Finds text a user cannot read in full: labels and buttons whose text is wider (or taller) than the widget."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QLabel, QStyle, QToolButton, QWidget

BUTTON_PADDING = 8  # a button draws its frame and margins around the text


def plain(text: str, rich: bool) -> str:
    if not rich:
        return text.replace("&&", "\0").replace("&", "").replace("\0", "&")
    document = QTextDocument()
    document.setHtml(text)
    return document.toPlainText()


def clipped_texts(root: QWidget) -> list[str]:
    """Each visible label or button under ``root`` whose text does not fit, with the sizes involved."""
    found: list[str] = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root) or widget.width() <= 0:
            continue
        if isinstance(widget, QLabel) and widget.text() and widget.pixmap().isNull():
            fmt = widget.textFormat()
            rich = fmt == Qt.TextFormat.RichText or (fmt == Qt.TextFormat.AutoText and "<" in widget.text())
            text = plain(widget.text(), rich)
            room = widget.contentsRect().width() - 2 * widget.margin()
            if widget.wordWrap() or rich:
                needed = widget.heightForWidth(widget.width())
                if needed > widget.height() + 1:
                    found.append(f"label {text[:40]!r}: needs {needed} px of height, has {widget.height()}")
            else:
                width = max(widget.fontMetrics().horizontalAdvance(line) for line in text.split("\n"))
                if width > room + 1:
                    found.append(f"label {text[:40]!r}: {width} px wide in {room} px")
        elif isinstance(widget, QAbstractButton) and widget.text() and not _icon_only(widget):
            text = plain(widget.text(), False)
            width = widget.fontMetrics().horizontalAdvance(text)
            extra = widget.iconSize().width() + 4 if not widget.icon().isNull() else 0
            if isinstance(widget, QCheckBox):
                style = widget.style()
                extra += style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth, None, widget)
                extra += style.pixelMetric(QStyle.PixelMetric.PM_CheckBoxLabelSpacing, None, widget)
            padding = 0 if isinstance(widget, QCheckBox) else BUTTON_PADDING
            if width + extra + padding > widget.width():
                found.append(f"button {text!r}: {width + extra + padding} px wide in {widget.width()} px")
    return found


def _icon_only(button: QAbstractButton) -> bool:
    """A tool button that shows its icon alone (its text is the tooltip's)."""
    return (
        isinstance(button, QToolButton)
        and button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly
        and not button.icon().isNull()
    )
