"""The history gallery dock: thumbnails of everything made, search and filters, details and actions.

The list is a virtualised ``QListView`` (icon mode, static layout, uniform
item sizes), so it paints only what is on screen however many images the
library holds. Layout is single-pass on purpose: the model keeps its rows in
C++, so laying out 100,000 of them takes about 20 ms, once per search;
batched layout would lay them out over many event-loop turns, with the
scroll bar shrunk (and the user thrown up the list) until it is done. The dock never generates anything itself: it emits
``reuse_parameters``, ``reuse_seed`` and ``send_to_canvas`` for the window.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, QMimeData, QPoint, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QDragEnterEvent, QDropEvent, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QLabel,
    QListView,
    QMenu,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop_sd.app.gallery_model import GalleryModel
from desktop_sd.core.errors import LibraryError
from desktop_sd.library.records import Filters, ImageRecord
from desktop_sd.ui.theme import show_focus

from .gallery_delegate import ThumbnailDelegate
from .gallery_details import DetailsPane
from .gallery_dialogs import GalleryDialogs
from .gallery_filters import FilterBar
from .local_keys import LocalKeys

GRID_MARGIN = 8


class GalleryDock(QDockWidget):
    """The "History" dock over a ``GalleryModel``."""

    reuse_parameters = Signal(object)  # GenerationRequest
    reuse_seed = Signal(object)  # a seed may be up to 2**64 - 1, past what an int signal carries
    send_to_canvas = Signal(str, bool)  # file path, as init image (True) or as the canvas image (False)
    import_requested = Signal(list)  # files and folders dropped on the history, to copy into it
    upscale_requested = Signal(str)  # the image file to upscale

    def __init__(
        self,
        model: GalleryModel,
        parent: QWidget | None = None,
        *,
        dialogs: GalleryDialogs | None = None,
        open_url: Callable[[QUrl], object] = QDesktopServices.openUrl,
    ) -> None:
        super().__init__("History", parent)
        self.setObjectName("GalleryDock")
        self.model = model
        self.dialogs = dialogs or GalleryDialogs()
        self._open_url = open_url
        # Through the model: the history may move to another library while the dock lives.
        self.filters = FilterBar(lambda: self.model.library.models(), lambda: self.model.library.sizes(), self)
        self.view = QListView(self)
        self.view.setObjectName("GalleryView")
        show_focus(self.view)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setMovement(QListView.Movement.Static)  # the free icon mode keeps a tree of every item
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setUniformItemSizes(True)
        self.view.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.view.setWrapping(True)
        size = model.thumb_size
        self.view.setIconSize(QSize(size, size))
        self.view.setGridSize(QSize(size + GRID_MARGIN, size + GRID_MARGIN))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.verticalScrollBar().setSingleStep(size // 4)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.setAccessibleName("History thumbnails")
        self.view.setModel(model)
        self.view.setItemDelegate(ThumbnailDelegate(model, self.view.gridSize(), self.view))

        self.details = DetailsPane(self)
        self.status = QLabel(self)
        self.status.setObjectName("GalleryStatus")

        self.setAcceptDrops(True)
        self._make_actions()
        LocalKeys(self.view)  # F, Del, Ctrl+C and 0-5 act on the selection while the thumbnails have focus
        toolbar = QToolBar(self)
        toolbar.setObjectName("GalleryToolbar")
        for action in (self.act_send, self.act_send_init, self.act_reuse, self.act_favourite, self.act_delete):
            toolbar.addAction(action)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.view)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)  # room for the prompt and the main settings without scrolling
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filters)
        layout.addWidget(toolbar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        self.setWidget(body)

        self.filters.changed.connect(self._filter)
        self.view.activated.connect(lambda _index: self._send(False))
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.view.selectionModel().currentChanged.connect(self._selection_changed)
        model.error.connect(self._error)
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(0)
        self._status_timer.timeout.connect(self._update_status)
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.filter_changed):
            signal.connect(self._status_timer.start)
        self._update_actions()
        self._update_status()

    # ---- actions ------------------------------------------------------------------------

    def _action(
        self, text: str, slot: Callable[[], None], shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None
    ) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.view.addAction(action)
            action.setToolTip(f"{text} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        return action

    def _make_actions(self) -> None:
        self.act_send = self._action("Send to canvas", lambda: self._send(False))
        self.act_send.setToolTip("Open the image on the canvas (Enter)")
        self.act_send_init = self._action("Use as init image", lambda: self._send(True))
        self.act_reuse = self._action("Reuse parameters", self._reuse)
        self.act_seed = self._action("Reuse seed", self._reuse_seed)
        self.act_copy = self._action("Copy image", self._copy, QKeySequence.StandardKey.Copy)
        self.act_open_folder = self._action("Open containing folder", self._open_folder)
        self.act_upscale = self._action("Upscale…", self._upscale)
        self.act_favourite = self._action("Favourite", self._toggle_favourite, "F")
        self.act_favourite.setToolTip("Mark or unmark as favourite (F)")
        self.act_tags = self._action("Tags…", self._edit_tags)
        self.act_export = self._action("Export…", self._export)
        self.act_delete = self._action("Delete…", self._delete, QKeySequence.StandardKey.Delete)
        self.act_rate: list[QAction] = []
        for stars in range(6):
            label = "No rating" if stars == 0 else "★" * stars
            self.act_rate.append(self._action(label, functools.partial(self._rate, stars), str(stars)))
        self.act_refresh = QAction("Look for changes in the library folder", self)
        self.act_refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        self.act_refresh.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.act_refresh.triggered.connect(lambda _checked=False: self._run(self.model.library.reconcile))
        self.addAction(self.act_refresh)
        self.act_search = QAction("Search history", self)
        self.act_search.setShortcut(QKeySequence.StandardKey.Find)  # from anywhere in the window
        self.act_search.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.act_search.triggered.connect(self._search)
        self.addAction(self.act_search)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and event.source() is None:  # from outside: not our own thumbnails
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_requested.emit(paths)

    def _search(self) -> None:
        self.show()  # a hidden History dock comes back for Ctrl+F
        self.raise_()
        self.filters.focus_search()

    def _context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for action in (self.act_send, self.act_send_init, self.act_reuse, self.act_seed, self.act_copy):
            menu.addAction(action)
        menu.addAction(self.act_upscale)
        menu.addAction(self.act_open_folder)
        menu.addSeparator()
        menu.addAction(self.act_favourite)
        rate = menu.addMenu("Rate")
        for action in self.act_rate:
            rate.addAction(action)
        menu.addAction(self.act_tags)
        menu.addSeparator()
        menu.addAction(self.act_export)
        menu.addAction(self.act_delete)
        menu.addSeparator()
        menu.addAction(self.act_refresh)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    # ---- selection ----------------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        rows = sorted(index.row() for index in self.view.selectionModel().selectedIndexes())
        if not rows and self.view.currentIndex().isValid():
            rows = [self.view.currentIndex().row()]
        return rows

    def selected_records(self) -> list[ImageRecord]:
        return self.model.records(self.selected_rows())

    def current_record(self) -> ImageRecord | None:
        index = self.view.currentIndex()
        if index.isValid():
            return self.model.record(index.row())
        records = self.selected_records()
        return records[0] if records else None

    def select_id(self, image_id: int) -> bool:
        """Make an image current and selected, scrolled into view; False if it is not among the matches."""
        row = self.model.find_row(image_id)
        if row is None:
            return False
        index = self.model.index(row, 0)
        self.view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.view.scrollTo(index)
        return True

    def _selection_changed(self, *_args: object) -> None:
        self.details.show_record(self.current_record(), len(self.selected_rows()))
        self._update_actions()

    def _update_actions(self) -> None:
        records = self.selected_records()
        one = self.current_record()
        present = one is not None and not one.missing
        for action in (self.act_send, self.act_send_init, self.act_copy, self.act_upscale):
            action.setEnabled(present)
        self.act_reuse.setEnabled(one is not None)
        self.act_seed.setEnabled(one is not None and one.seed is not None)
        self.act_open_folder.setEnabled(one is not None)
        for action in (self.act_favourite, self.act_tags, self.act_export, self.act_delete, *self.act_rate):
            action.setEnabled(bool(records))
        all_favourite = bool(records) and all(r.favourite for r in records)
        self.act_favourite.setText("Unfavourite" if all_favourite else "Favourite")

    def _update_status(self) -> None:
        total = self.model.total()
        searching = bool(self.model.text) or not self.model.filters.empty
        noun = "image" if total == 1 else "images"
        self.status.setText(f"{total:,} {noun} {'match' if searching else 'in the history'}")

    # ---- handlers -----------------------------------------------------------------------

    def _filter(self, text: str, filters: Filters) -> None:
        self.model.set_filter(text, filters)

    def _error(self, message: str) -> None:
        self.dialogs.error(self, message)

    def _present(self) -> ImageRecord | None:
        record = self.current_record()
        if record is None:
            return None
        if record.missing or not record.path.is_file():
            self.dialogs.error(self, f"The file {record.path} is missing; its parameters can still be reused.")
            return None
        return record

    def _send(self, as_init: bool) -> None:
        record = self._present()
        if record is not None:
            self.send_to_canvas.emit(str(record.path), as_init)

    def _upscale(self) -> None:
        record = self._present()
        if record is not None:
            self.upscale_requested.emit(str(record.path))

    def _reuse(self) -> None:
        record = self.current_record()
        if record is not None:
            self.reuse_parameters.emit(record.to_request())

    def _reuse_seed(self) -> None:
        record = self.current_record()
        if record is not None and record.seed is not None:
            self.reuse_seed.emit(record.seed)

    def _copy(self) -> None:
        record = self._present()
        if record is None:
            return
        image = QImage(str(record.path))
        if image.isNull():
            self.dialogs.error(self, f"{record.path.name} could not be read to copy it.")
            return
        # Qt makes the clipboard's data object, not Python: a Python-made one held by the clipboard is
        # destroyed by Qt's exit handlers after Python has shut down, which crashes the process at exit.
        clipboard = QGuiApplication.clipboard()
        clipboard.setImage(image)
        held = clipboard.mimeData()
        if isinstance(held, QMimeData):  # the file too, for pasting into a file manager or another app
            held.setUrls([QUrl.fromLocalFile(str(record.path))])

    def _open_folder(self) -> None:
        record = self.current_record()
        if record is not None:
            self._open_url(QUrl.fromLocalFile(str(record.folder)))

    def _run(self, change: Callable[[], object]) -> None:
        try:
            change()
        except LibraryError as exc:
            self.dialogs.error(self, str(exc))
        self._selection_changed()

    def _toggle_favourite(self) -> None:
        records = self.selected_records()
        if records:
            favourite = not all(r.favourite for r in records)
            self._run(lambda: self.model.library.set_favourite([r.id for r in records], favourite))

    def _rate(self, stars: int) -> None:
        records = self.selected_records()
        if records:
            self._run(lambda: self.model.library.set_rating([r.id for r in records], stars))

    def _edit_tags(self) -> None:
        records = self.selected_records()
        if not records:
            return
        tags = self.dialogs.edit_tags(self, list(records[0].tags))
        if tags is not None:
            self._run(lambda: self.model.library.set_tags([r.id for r in records], tags))

    def _export(self) -> None:
        records = self.selected_records()
        if not records:
            return
        folder = self.dialogs.choose_folder(self, "Export images to")
        if folder is None:
            return
        try:
            report = self.model.library.export([r.id for r in records], folder)
        except LibraryError as exc:
            self.dialogs.error(self, str(exc))
            return
        if report.skipped:
            names = ", ".join(path.name for path, _why in report.skipped[:5])
            self.dialogs.info(
                self, f"Exported {len(report.exported)} images to {folder}; skipped {len(report.skipped)}: {names}."
            )

    def _delete(self) -> None:
        records = self.selected_records()
        if not records or not self.dialogs.confirm_delete(self, len(records)):
            return
        next_row = min(self.selected_rows())
        self._run(lambda: self.model.library.delete([r.id for r in records]))
        if self.model.rowCount() and next_row is not None:
            index = self.model.index(min(next_row, self.model.rowCount() - 1), 0)
            self.view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
