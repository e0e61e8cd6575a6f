"""The gallery's search box and filters (model, mode, date range, favourites, size)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_sd.core.request import Mode
from desktop_sd.library.records import Filters
from desktop_sd.ui.names import MODE_NAMES

SEARCH_DELAY_MS = 250  # typing pauses this long before the search runs

_DATE_CHOICES = ("Any time", "Today", "Last 7 days", "Last 30 days", "This year", "Custom range…")


class _RefreshingCombo(QComboBox):
    """A combo box that refreshes its choices just before it opens (so they are never stale)."""

    def __init__(self, refresh: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._refresh = refresh

    def showPopup(self) -> None:
        self._refresh()
        super().showPopup()


class FilterBar(QWidget):
    """Emits ``changed(text, filters)`` when the search or a filter changes (typing is debounced)."""

    changed = Signal(str, object)

    def __init__(
        self,
        models: Callable[[], list[str]],
        sizes: Callable[[], list[tuple[int, int]]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._models = models
        self._sizes = sizes

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search prompts, models, seeds, tags…")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search the history")
        self.favourites = QToolButton(self)
        self.favourites.setText("★")
        self.favourites.setCheckable(True)
        self.favourites.setToolTip("Show favourites only")
        self.favourites.setAccessibleName("Favourites only")

        self.model = _RefreshingCombo(self._fill_models, self)
        self.model.setToolTip("Model")
        self.mode = QComboBox(self)
        self.mode.addItem("All modes", None)
        for mode in Mode:
            self.mode.addItem(MODE_NAMES[mode], mode)
        self.date = QComboBox(self)
        self.date.addItems(_DATE_CHOICES)
        self.date.setToolTip("When the image was made")
        self.image_size = _RefreshingCombo(self._fill_sizes, self)
        self.image_size.setToolTip("Image size")
        self.date_from = QDateEdit(self)
        self.date_to = QDateEdit(self)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setDate(QDate.currentDate())
        self.date_from.setToolTip("From (inclusive)")
        self.date_to.setToolTip("To (inclusive)")
        self._fill_models()
        self._fill_sizes()

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.search, 1)
        top.addWidget(self.favourites)
        row = QGridLayout()  # two by two: the History dock stays narrow and the canvas keeps the room
        row.setContentsMargins(0, 0, 0, 0)
        for index, combo in enumerate((self.model, self.mode, self.date, self.image_size)):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
            row.addWidget(combo, index // 2, index % 2)
        self._custom = QWidget(self)
        custom = QHBoxLayout(self._custom)
        custom.setContentsMargins(0, 0, 0, 0)
        custom.addWidget(self.date_from)
        custom.addWidget(self.date_to)
        self._custom.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(row)
        layout.addWidget(self._custom)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._emit)
        self.search.textChanged.connect(self._timer.start)
        self.search.returnPressed.connect(self._emit)
        self.favourites.toggled.connect(self._emit)
        for combo in (self.model, self.mode, self.image_size):
            combo.currentIndexChanged.connect(self._emit)
        self.date.currentIndexChanged.connect(self._date_choice)
        self.date_from.dateChanged.connect(self._emit)
        self.date_to.dateChanged.connect(self._emit)
        self._last: tuple[str, Filters] | None = None

    def _fill_models(self) -> None:
        self._refill(self.model, "All models", [(name, name) for name in self._safe(self._models)])

    def _fill_sizes(self) -> None:
        self._refill(self.image_size, "All sizes", [(f"{w}×{h}", (w, h)) for w, h in self._safe(self._sizes)])

    @staticmethod
    def _safe(source: Callable[[], list]) -> list:
        try:
            return source()
        except Exception:  # the library failed: keep the filter usable ("All ...")
            return []

    @staticmethod
    def _refill(combo: QComboBox, everything: str, items: list[tuple[str, object]]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(everything, None)
        for label, value in items:
            combo.addItem(label, value)
        index = next((i for i in range(combo.count()) if combo.itemData(i) == current), 0)
        combo.setCurrentIndex(index)
        combo.blockSignals(False)

    def _date_choice(self) -> None:
        self._custom.setVisible(self.date.currentIndex() == len(_DATE_CHOICES) - 1)
        self._emit()

    def _date_range(self) -> tuple[datetime | None, datetime | None]:
        choice = self.date.currentIndex()
        today = datetime.combine(datetime.now().date(), time())
        if choice == 1:
            return today, None
        if choice == 2:
            return today - timedelta(days=6), None
        if choice == 3:
            return today - timedelta(days=29), None
        if choice == 4:
            return today.replace(month=1, day=1), None
        if choice == 5:
            start, end = _day(self.date_from.date()), _day(self.date_to.date())
            return datetime.combine(start, time()), datetime.combine(end, time()) + timedelta(days=1)
        return None, None

    def current(self) -> tuple[str, Filters]:
        date_from, date_to = self._date_range()
        filters = Filters(
            model=self.model.currentData(),
            mode=self.mode.currentData(),
            date_from=date_from,
            date_to=date_to,
            favourite=self.favourites.isChecked(),
            size=self.image_size.currentData(),
        )
        return self.search.text().strip(), filters

    def _emit(self) -> None:
        self._timer.stop()
        state = self.current()
        if state != self._last:
            self._last = state
            self.changed.emit(*state)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()


def _day(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())
