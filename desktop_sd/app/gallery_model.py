"""The history as a Qt list model: every match a row from the start, ids, records and thumbnails read as shown.

The row count comes from one ``COUNT`` query, so the scroll bar spans the
whole history at once (dragging it to last year works) and the view lays out
all rows once per search, never again while scrolling. Which image sits in a
row is read when the row is first shown, a page of ids at a time: by key from
the row above when it is known (``id < last``), else by offset.

What stays in memory is bounded whatever the library's size: 8 bytes per row
for its id, an LRU of records, and an LRU of thumbnails. Thumbnails are made
on a thread pool (``gallery_thumbs``) and a placeholder shows until they
arrive. Library changes (from any thread) arrive as queued signals and become
row inserts, removals and updates.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QStringListModel,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QImage

from desktop_sd.core.errors import LibraryError
from desktop_sd.library.records import Brief, Filters, ImageRecord, LibraryEvent, LibraryEventKind
from desktop_sd.library.store import Library

from .gallery_thumbs import MISSING, READY, ThumbnailLoader, placeholder

Index = QModelIndex | QPersistentModelIndex
_BLOCK = 128  # rows whose file names are read per database round trip when first shown
PAGE = 512  # ids read per query when rows are first shown
REPAINT_MS = 30  # thumbnails that arrive together are painted together


class _Bridge(QObject):
    """Carries library events (sent on whatever thread changed the library) to the GUI thread."""

    arrived = Signal(object)  # LibraryEvent (not ``event``: that would hide QObject.event)


class GalleryModel(QStringListModel):
    """Images of a ``Library`` matching the current search, newest first.

    A list model whose rows live in Qt's own (C++) string list, all blank:
    the view lays out every row by asking the model for an index, and with
    the row count kept in C++ that costs no call into Python, so laying out
    100,000 rows takes milliseconds. ``_ids`` holds each row's image id and is
    updated by the first slot connected to the row signals, before any view
    sees them.
    """

    IdRole = Qt.ItemDataRole.UserRole + 1
    RecordRole = Qt.ItemDataRole.UserRole + 2
    PathRole = Qt.ItemDataRole.UserRole + 3
    MissingRole = Qt.ItemDataRole.UserRole + 4
    FavouriteRole = Qt.ItemDataRole.UserRole + 5

    filter_changed = Signal()
    thumbnails_ready = Signal(list)  # image ids whose thumbnail (or bad-file placeholder) is now in place
    error = Signal(str)  # a library failure, as a message for the user

    def __init__(
        self,
        library: Library,
        *,
        page_size: int = PAGE,
        thumb_size: int = 160,
        cache_items: int = 400,
        record_cache: int = 4096,
        threads: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.rowsInserted.connect(self._apply_insert)
        self.rowsRemoved.connect(self._apply_remove)
        self._incoming = array("q")
        self.library = library
        self.page_size = page_size
        self.thumb_size = thumb_size
        self._ids = array("q")  # the image id of each row, newest first; 0 where not read yet
        self._rows: dict[int, int] | None = {}  # id -> row of the ids read; None when rows have moved
        self._text = ""
        self._filters = Filters()
        self._brief: OrderedDict[int, Brief] = OrderedDict()
        self._records: OrderedDict[int, ImageRecord] = OrderedDict()
        self._record_cache = record_cache
        self._dirty: set[int] = set()  # ids whose thumbnail arrived since the last repaint
        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self._flush_thumbnails)
        self._thumbs: OrderedDict[int, QImage] = OrderedDict()  # kept as QImage: no conversion per tile
        self._cache_items = cache_items
        self._pending: set[int] = set()
        self._bad: dict[int, int] = {}  # id -> MISSING / BROKEN, so a bad file is not retried on every paint
        self._loading = placeholder(thumb_size, "loading")
        self._missing = placeholder(thumb_size, "missing")
        self._broken = placeholder(thumb_size, "broken")
        self._threads = threads
        self._loader = self._new_loader(library.folder)
        self._bridge = _Bridge(self)
        self._bridge.arrived.connect(self._library_changed)
        self._listener = self._bridge.arrived.emit
        library.add_listener(self._listener)
        self._closed = False
        self.refresh()

    def _new_loader(self, folder: Path) -> ThumbnailLoader:
        loader = ThumbnailLoader(folder, self.thumb_size, self._threads, parent=self)
        loader.finished.connect(self._thumbnail_finished)
        return loader

    def set_library(self, library: Library) -> None:
        """Show ``library`` from now on (the history moved to another folder); the old one stays open."""
        if library is self.library or self._closed:
            return
        self.library.remove_listener(self._listener)
        self._loader.finished.disconnect(self._thumbnail_finished)
        self._loader.shutdown()
        self.library = library
        self._loader = self._new_loader(library.folder)
        for cache in (self._brief, self._records, self._thumbs, self._bad):
            cache.clear()
        self._pending.clear()
        self._dirty.clear()
        library.add_listener(self._listener)
        self.refresh()
        self.filter_changed.emit()

    # ---- searching ---------------------------------------------------------------------

    @property
    def text(self) -> str:
        return self._text

    @property
    def filters(self) -> Filters:
        return self._filters

    def set_filter(self, text: str = "", filters: Filters | None = None) -> None:
        """Show only images matching every word of ``text`` and ``filters``; the first page is fetched at once."""
        filters = filters or Filters()
        if text == self._text and filters == self._filters:
            return
        self._text, self._filters = text, filters
        self.refresh()
        self.filter_changed.emit()

    def refresh(self) -> None:
        """Count the matches again and start over: every row known, no id read yet but the first page's."""
        self._ids = array("q")
        self._rows = {}
        self.setStringList([])  # a model reset
        try:
            total = self.library.count(self._text, self._filters)
        except LibraryError as exc:
            self.error.emit(str(exc))
            return
        if total:
            self._insert(bytes(8 * total))  # rows whose ids are not read yet (0)
            self._ensure(0)

    def total(self) -> int:
        """How many images match the current search."""
        return len(self._ids)

    @property
    def ids_read(self) -> int:
        """How many rows' ids have been read from the library so far."""
        return len(self._ids) - self._ids.count(0)

    # ---- rows ---------------------------------------------------------------------------

    def _insert(self, ids: Sequence[int] | bytes) -> None:
        """Insert rows at the top holding ``ids`` (``bytes`` of zeros: rows whose ids are not read yet).

        Only ever at the top: Qt's string list inserts row by row, which is
        cheap at the front and costs the square of the count anywhere else.
        """
        self._incoming = array("q", ids)
        self.insertRows(0, len(self._incoming))

    def _apply_insert(self, _parent: Index, first: int, _last: int) -> None:
        self._ids[first:first] = self._incoming
        self._incoming = array("q")
        self._rows = None

    def _apply_remove(self, _parent: Index, first: int, last: int) -> None:
        del self._ids[first : last + 1]
        self._rows = None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        return False  # tiles are not editable

    def _ensure(self, row: int) -> None:
        """Read the ids of ``row`` and the rows after it (a page) if they are not known yet."""
        ids = self._ids
        if ids[row]:
            return
        anchor = row - 1
        page_size = self.page_size
        lowest = max(0, row - page_size)
        while anchor >= lowest and not ids[anchor]:
            anchor -= 1
        try:
            if anchor >= lowest:  # a known id above: page on from it by key
                first = anchor + 1
                page = self.library.page_ids(self._text, self._filters, ids[anchor], page_size)
            else:
                first = row - row % page_size
                page = self.library.page_ids(self._text, self._filters, None, page_size, offset=first)
        except LibraryError as exc:
            self.error.emit(str(exc))
            return
        rows = self._rows
        for offset, image_id in enumerate(page):
            at = first + offset
            if at >= len(ids) or ids[at]:
                break  # the end, or rows already known
            ids[at] = image_id
            if rows is not None:
                rows[image_id] = at

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        image_id = self.image_id(row) if index.isValid() else None
        if image_id is None:
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._decoration(row, image_id)
        if role == self.IdRole:
            return image_id
        if role == self.PathRole:
            brief = self.brief(row)
            return str(self.library.path_of(brief.file_name)) if brief else None
        if role == self.MissingRole:
            brief = self.brief(row)
            return brief is not None and (brief.missing or self._bad.get(image_id) == MISSING)
        if role == self.FavouriteRole:
            brief = self.brief(row)
            return brief is not None and brief.favourite
        if role not in (self.RecordRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return None  # painting asks for a dozen roles per item: answer the rest without a lookup
        record = self.record(row)
        if record is None:
            return None
        if role == self.RecordRole:
            return record
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(record)
        return record.prompt or record.path.name

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """File URLs of the dragged images (the canvas opens a dropped file like any other)."""
        mime = QMimeData()
        records = self.records([i.row() for i in indexes if i.isValid()])
        urls = [QUrl.fromLocalFile(str(r.path)) for r in records if not r.missing]
        mime.setUrls(urls)
        if urls:
            mime.setText("\n".join(u.toLocalFile() for u in urls))
        return mime

    # ---- records ------------------------------------------------------------------------

    def image_id(self, row: int) -> int | None:
        """The image in ``row`` (its page of ids is read on first use); None past the end."""
        if not 0 <= row < len(self._ids):
            return None
        if not self._ids[row]:
            self._ensure(row)
        return self._ids[row] or None

    def row_of(self, image_id: int) -> int | None:
        """Row of an image among the rows whose ids have been read, or None."""
        if self._rows is None:
            self._rows = {i: r for r, i in enumerate(self._ids) if i}
        return self._rows.get(image_id)

    def find_row(self, image_id: int) -> int | None:
        """Row of any matching image, read or not: its place is the number of newer matches."""
        row = self.row_of(image_id)
        if row is not None:
            return row
        try:
            row = self.library.count(self._text, self._filters, newer_than=image_id)
        except LibraryError as exc:
            self.error.emit(str(exc))
            return None
        return row if self.image_id(row) == image_id else None

    def index_of(self, image_id: int) -> QModelIndex:
        row = self.row_of(image_id)
        return self.index(row, 0) if row is not None else QModelIndex()

    def record(self, row: int) -> ImageRecord | None:
        """The full record at ``row`` (tooltips, details, actions), read from the library on first use."""
        image_id = self.image_id(row)
        if image_id is None:
            return None
        record = self._records.get(image_id)
        if record is not None:
            self._records.move_to_end(image_id)
            return record
        try:
            record = self.library.get(image_id)
        except LibraryError as exc:
            self.error.emit(str(exc))
            return None
        if record is not None:
            self._remember(record)
        return record

    def brief(self, row: int) -> Brief | None:
        """File name and flags at ``row``, read in a block with its neighbours on first use."""
        image_id = self.image_id(row)
        if image_id is None:
            return None
        brief = self._brief.get(image_id)
        if brief is not None:
            return brief
        start = row - row % _BLOCK
        try:
            found = self.library.brief([i for i in self._ids[start : start + _BLOCK] if i])
        except LibraryError as exc:
            self.error.emit(str(exc))
            return None
        self._brief.update(found)
        while len(self._brief) > self._record_cache:
            self._brief.popitem(last=False)
        return found.get(image_id)

    def records(self, rows: Sequence[int]) -> list[ImageRecord]:
        """Full records of several rows (one query for those not yet cached)."""
        ids = [i for i in (self.image_id(row) for row in rows) if i is not None]
        wanted = [i for i in ids if i not in self._records]
        if wanted:
            try:
                for record in self.library.get_many(wanted):
                    self._remember(record)
            except LibraryError as exc:
                self.error.emit(str(exc))
        return [self._records[i] for i in ids if i in self._records]

    def _remember(self, record: ImageRecord) -> None:
        self._records[record.id] = record
        self._records.move_to_end(record.id)
        while len(self._records) > self._record_cache:
            self._records.popitem(last=False)

    # ---- thumbnails ---------------------------------------------------------------------

    def tile(self, row: int) -> tuple[QImage, bool]:
        """What a tile shows: its image (or placeholder) and whether it is a favourite; one call per tile."""
        image_id = self.image_id(row)
        if image_id is None:
            return self._loading, False
        image = self._decoration(row, image_id)
        brief = self._brief.get(image_id)
        return image, brief is not None and brief.favourite

    def _decoration(self, row: int, image_id: int) -> QImage:
        thumb = self._thumbs.get(image_id)
        if thumb is not None:
            self._thumbs.move_to_end(image_id)
            return thumb
        bad = self._bad.get(image_id)
        if bad is not None:
            return self._missing if bad == MISSING else self._broken
        brief = self.brief(row)
        if brief is None:
            return self._loading
        file_name, missing, _favourite = brief
        if missing:
            return self._missing
        if image_id not in self._pending:
            self._pending.add(image_id)
            dropped = self._loader.request(image_id, file_name)
            self._pending.difference_update(dropped)  # asked for again if they are painted again
        return self._loading

    @property
    def thumbnails_in_memory(self) -> int:
        """How many thumbnails the in-memory cache holds (at most ``cache_items``)."""
        return len(self._thumbs)

    def has_thumbnail(self, image_id: int) -> bool:
        """Whether the image's thumbnail (or its missing/damaged placeholder) is ready to paint."""
        if image_id in self._thumbs or image_id in self._bad:
            return True
        brief = self._brief.get(image_id)
        return brief is not None and brief.missing

    def _thumbnail_finished(self, image_id: int, image: QImage, status: int) -> None:
        self._pending.discard(image_id)
        if self._closed:
            return
        if status == READY:
            self._thumbs[image_id] = image
            while len(self._thumbs) > self._cache_items:
                self._thumbs.popitem(last=False)
        else:
            self._bad[image_id] = status
            if status == MISSING:
                self._mark_missing(image_id)
        self._dirty.add(image_id)
        if not self._repaint.isActive():
            self._repaint.start()

    def _flush_thumbnails(self) -> None:
        ids = list(self._dirty)
        self._dirty.clear()
        rows = [r for r in (self.row_of(i) for i in ids) if r is not None]
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), 0), [Qt.ItemDataRole.DecorationRole])
        self.thumbnails_ready.emit(ids)

    def _mark_missing(self, image_id: int) -> None:
        brief = self._brief.get(image_id)
        if brief is not None and brief.missing:
            return
        try:
            self.library.mark_missing(image_id)
        except LibraryError as exc:
            self.error.emit(str(exc))

    # ---- following the library ----------------------------------------------------------

    def _library_changed(self, event: LibraryEvent) -> None:
        if self._closed:
            return
        if event.kind is LibraryEventKind.RESET:
            self._records.clear()
            self._brief.clear()
            self._bad.clear()
            self.refresh()
        elif event.kind is LibraryEventKind.ADDED:
            self._added(event.ids)
        elif event.kind is LibraryEventKind.REMOVED:
            self._remove_rows(event.ids)
        elif event.kind is LibraryEventKind.CHANGED:
            self._changed(event.ids)

    def _matching(self, ids: Sequence[int]) -> set[int]:
        if not self._text and self._filters.empty:
            return set(ids)
        try:
            return self.library.matching_ids(ids, self._text, self._filters)
        except LibraryError as exc:
            self.error.emit(str(exc))
            return set()

    def _added(self, ids: Sequence[int]) -> None:
        newest = self.image_id(0)
        fresh = sorted((i for i in self._matching(ids) if newest is None or i > newest), reverse=True)
        if fresh:
            self._insert(fresh)
        self._check_count()

    def _changed(self, ids: Sequence[int]) -> None:
        shown = [i for i in ids if self.row_of(i) is not None]
        try:
            fresh = self.library.brief(shown)
        except LibraryError as exc:
            self.error.emit(str(exc))
            fresh = {}
        for image_id in shown:
            self._records.pop(image_id, None)
            brief = fresh.get(image_id)
            if brief is None:
                self._brief.pop(image_id, None)
            else:
                self._brief[image_id] = brief
            if brief is None or not brief.missing:
                self._bad.pop(image_id, None)  # e.g. a file back again: try its thumbnail anew
        keep = self._matching(shown)
        self._remove_rows([i for i in shown if i not in keep])
        for image_id in keep:
            index = self.index_of(image_id)
            if index.isValid():
                self.dataChanged.emit(index, index)
        if len(shown) < len(ids):
            self._check_count()  # changes to rows not read yet may add or drop matches

    def _remove_rows(self, ids: Sequence[int]) -> None:
        rows = sorted((r for r in (self.row_of(i) for i in ids) if r is not None), reverse=True)
        for image_id in ids:
            self._records.pop(image_id, None)
            self._brief.pop(image_id, None)
            self._thumbs.pop(image_id, None)
            self._bad.pop(image_id, None)
        while rows:
            last = first = rows.pop(0)
            while rows and rows[0] == first - 1:
                first = rows.pop(0)
            self.removeRows(first, last - first + 1)
        self._check_count()

    def _check_count(self) -> None:
        """Start over if the rows no longer add up (a change among rows whose ids were not read yet)."""
        if 0 not in self._ids:
            return
        try:
            total = self.library.count(self._text, self._filters)
        except LibraryError as exc:
            self.error.emit(str(exc))
            return
        if total != len(self._ids):
            self.refresh()

    def close(self) -> None:
        """Stop following the library and wait for thumbnail jobs; the library itself stays open."""
        if self._closed:
            return
        self._closed = True
        self._repaint.stop()
        self.library.remove_listener(self._listener)
        self._loader.shutdown()


def _tooltip(record: ImageRecord) -> str:
    prompt = record.prompt if len(record.prompt) <= 300 else record.prompt[:300] + "…"
    details = [f"{record.width}×{record.height}"]
    if record.seed is not None:
        details.append(f"seed {record.seed}")
    if record.model:
        details.append(record.model)
    if record.missing:
        details.append("file missing")
    return f"{prompt or '(no prompt)'}\n{', '.join(details)}"
