"""The job queue, visible: the running job with its progress, the waiting ones, and a way to remove them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QListView, QPushButton, QVBoxLayout, QWidget

from desktop_sd.app.jobs import JobQueue
from desktop_sd.app.queue_model import QueueModel
from desktop_sd.ui.theme import show_focus


class QueuePanel(QWidget):
    def __init__(self, queue: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._queue = queue
        self.model = QueueModel(queue, self)
        self.list = QListView()
        show_focus(self.list)
        self.list.setModel(self.model)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setUniformItemSizes(True)
        self.list.setAlternatingRowColors(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected jobs from the queue (a running one is cancelled)")
        self.remove_button.clicked.connect(self.remove_selected)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every waiting job; the running one carries on")
        self.clear_button.clicked.connect(self._clear_waiting)
        QShortcut(
            QKeySequence.StandardKey.Delete, self.list, self.remove_selected, context=Qt.ShortcutContext.WidgetShortcut
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        queue.queue_changed.connect(self._update_buttons)
        self.list.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_buttons)
        self._update_buttons()

    def remove_selected(self) -> None:
        ids = [self.model.job_id(index.row()) for index in self.list.selectionModel().selectedRows()]
        for job_id in ids:
            if job_id is not None:
                self._queue.remove(job_id)
        self.list.setFocus()  # the pressed button is disabled now: focus stays here, not on some far field

    def _clear_waiting(self) -> None:
        for job in self._queue.pending():
            self._queue.remove(job.id)
        self.list.setFocus()

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.list.selectionModel().hasSelection())
        self.clear_button.setEnabled(bool(self._queue.pending()))
