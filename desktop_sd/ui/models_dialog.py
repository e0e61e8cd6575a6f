"""The Models dialog: installed models (disk use, default, remove, import) and the download catalog.

A view of ``app.model_manager.ModelManager``: it listens to the manager's
signals and calls its methods; it keeps no model state of its own.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_sd.app.model_manager import ModelManager
from desktop_sd.app.upscaler_manager import UpscalerManager
from desktop_sd.core.errors import DesktopSDError
from desktop_sd.models.catalog import CatalogEntry, installed_entries
from desktop_sd.models.progress import Progress, format_eta
from desktop_sd.models.transfer import human_size
from desktop_sd.ui.addons_tab import AddonsTab
from desktop_sd.ui.upscalers_tab import UpscalersTab

CELL_WIDTH = 300


def progress_text(progress: Progress) -> tuple[str, str]:
    """The bar's text (bytes done of total) and the line under it (speed, time left)."""
    amount = human_size(progress.done) + (f" of {human_size(progress.total)}" if progress.total else "")
    parts = []
    if progress.bytes_per_s > 0:
        parts.append(f"{human_size(progress.bytes_per_s)}/s")
    eta = format_eta(progress.seconds_left)
    if eta:
        parts.append(eta)
    return amount, " · ".join(parts) or "waiting for data…"

GATED_TIP = "\nGated: accept the licence on this page while signed in, then save a Hugging Face token."


class DownloadCell(QWidget):
    """A Download button, or a progress bar with Cancel while downloading, or 'Installed'."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stack = QStackedWidget(self)
        self.download_button = QPushButton("Download")
        busy = QWidget()
        busy_layout = QHBoxLayout(busy)
        busy_layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.detail = QLabel()
        font = self.detail.font()
        font.setPointSizeF(font.pointSizeF() * 0.85)
        self.detail.setFont(font)
        bar_column = QVBoxLayout()
        bar_column.setSpacing(0)
        bar_column.addWidget(self.bar)
        bar_column.addWidget(self.detail)
        self.cancel_button = QPushButton("Cancel")
        busy_layout.addLayout(bar_column, 1)
        busy_layout.addWidget(self.cancel_button)
        self.installed_label = QLabel("Installed")
        self.installed_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for widget in (self.download_button, busy, self.installed_label):
            self.stack.addWidget(widget)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.stack, 0, Qt.AlignmentFlag.AlignVCenter)
        self.stack.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(CELL_WIDTH)

    def show_idle(self) -> None:
        self.stack.setCurrentIndex(0)

    def show_busy(self, progress: Progress | None = None) -> None:
        self.stack.setCurrentIndex(1)
        progress = progress or Progress(0, 0, 0.0)
        if progress.total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(progress.done / progress.total, 1.0)))
        else:
            self.bar.setRange(0, 0)  # unknown size: a busy indicator
        amount, detail = progress_text(progress)
        self.bar.setFormat(amount if progress.done else "Starting…")
        self.detail.setText(detail)

    def show_installed(self) -> None:
        self.stack.setCurrentIndex(2)


KIND_NAMES = {
    "taesd": "preview decoder",
    "vae": "VAE",
    "lora": "LoRA",
    "embedding": "embedding",
    "text_encoders": "text encoders",
}


class ModelsDialog(QDialog):
    """Catalog with size, licence, purpose and a Download button and progress bar each; installed models
    with disk use; Import (file, folder, URL, repo id), Remove, Set default; cancel running downloads."""

    def __init__(self, manager: ModelManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.setWindowTitle("Models")
        self.resize(980, 560)
        self.cells: dict[str, DownloadCell] = {}
        self.other_cells: dict[str, DownloadCell] = {}

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_installed_tab(), "Installed")
        self.tabs.addTab(self._build_catalog_tab(), "Download")
        self.addons_tab = AddonsTab(manager.addons)
        self.tabs.addTab(self.addons_tab, "LoRAs, embeddings, VAEs")
        self.upscalers = UpscalersTab(UpscalerManager())  # no parent: a download outlives the dialog
        self.tabs.addTab(self.upscalers, "Upscalers")
        # rows measured while the Download tab was hidden were measured at the wrong widths
        self.tabs.currentChanged.connect(lambda _: QTimer.singleShot(0, self.catalog_table.resizeRowsToContents))

        self.offline_box = QCheckBox("Work offline (no network at all; installed models keep working)")
        self.offline_box.setChecked(manager.offline())
        self.offline_box.toggled.connect(manager.set_offline)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.offline_box, 1)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)

        manager.installed_changed.connect(self.refresh)
        manager.download_started.connect(self._on_started)
        manager.download_progress.connect(self._on_progress)
        manager.download_finished.connect(self._on_finished)
        manager.download_failed.connect(self._on_failed)
        manager.download_cancelled.connect(self._on_cancelled)
        manager.import_finished.connect(self._on_imported)
        manager.import_failed.connect(self._on_import_failed)
        manager.offline_changed.connect(self._on_offline_changed)
        self.refresh()
        if not manager.installed(include_previews=True):
            self.tabs.setCurrentIndex(1)

    # ---- building ------------------------------------------------------------------------------

    def _build_installed_tab(self) -> QWidget:
        tab = QWidget()
        self.installed_table = QTableWidget(0, 5)
        self.installed_table.setHorizontalHeaderLabels(["Model", "Family", "On disk", "Source", "Location"])
        self.installed_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.installed_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.installed_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.installed_table.verticalHeader().hide()
        header = self.installed_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.installed_table.itemSelectionChanged.connect(self._update_buttons)

        self.disk_label = QLabel()
        self.copy_box = QCheckBox("Copy into Desktop SD's folder (otherwise used where it is)")
        self.import_file_button = QPushButton("Import file…")
        self.import_folder_button = QPushButton("Import folder…")
        self.remove_button = QPushButton("Remove")
        self.default_button = QPushButton("Set as default")
        self.clean_button = QPushButton("Delete unfinished downloads")
        self.clean_button.setToolTip("Partial files kept so stopped downloads can resume")
        self.clean_button.clicked.connect(self.clean_partials)
        self.import_file_button.clicked.connect(self._choose_file)
        self.import_folder_button.clicked.connect(self._choose_folder)
        self.remove_button.clicked.connect(self.remove_selected)
        self.default_button.clicked.connect(self.set_selected_default)

        row = QHBoxLayout()
        for button in (self.import_file_button, self.import_folder_button):
            row.addWidget(button)
        row.addWidget(self.copy_box)
        row.addStretch(1)
        row.addWidget(self.clean_button)
        row.addWidget(self.default_button)
        row.addWidget(self.remove_button)

        self.empty_label = QLabel(
            "No models yet. Download one from the <b>Download</b> tab (the one marked ★ suits this computer), "
            "or import a <i>.safetensors</i> / <i>.ckpt</i> file or a diffusers folder you have."
        )
        self.empty_label.setWordWrap(True)
        layout = QVBoxLayout(tab)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.installed_table, 1)
        layout.addWidget(self.disk_label)
        layout.addLayout(row)
        return tab

    def _build_catalog_tab(self) -> QWidget:
        tab = QWidget()
        recommended = self.manager.recommended_entry()
        # The recommended model first, then the other checkpoints; helper models (preview decoders) last.
        entries = sorted(
            self.manager.catalog(),
            key=lambda e: (e.kind != "checkpoint", recommended is None or e.id != recommended.id),
        )
        self.recommended_label = QLabel()
        self.recommended_label.setWordWrap(True)
        if recommended is not None:
            self.recommended_label.setText(
                f"Recommended for this computer: <b>{recommended.name}</b>. {recommended.purpose} "
                f"{self.manager.recommendation_reason(recommended)}"
            )
        self.catalog_table = QTableWidget(len(entries), 5)
        self.catalog_table.setHorizontalHeaderLabels(["Model", "Size", "Licence", "Good for", ""])
        self.catalog_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.catalog_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.catalog_table.setWordWrap(True)
        self.catalog_table.verticalHeader().hide()
        self.entries = {entry.id: entry for entry in entries}
        for row, entry in enumerate(entries):
            name = entry.name + ("  ★ recommended" if recommended is not None and entry.id == recommended.id else "")
            if entry.kind != "checkpoint":
                name += (
                    "  (helper: fast previews)"
                    if entry.kind == "taesd"
                    else f"  ({KIND_NAMES.get(entry.kind, entry.kind)})"
                )
            licence = QTableWidgetItem(entry.licence + ("  (gated)" if entry.gated else ""))
            licence.setToolTip(entry.licence_url + (GATED_TIP if entry.gated else ""))
            purpose = QTableWidgetItem(entry.purpose)
            purpose.setToolTip(entry.purpose)
            for column, item in enumerate(
                (QTableWidgetItem(name), QTableWidgetItem(f"~{human_size(entry.size_bytes)}"), licence, purpose)
            ):
                self.catalog_table.setItem(row, column, item)
            cell = DownloadCell()
            cell.download_button.clicked.connect(lambda _=False, e=entry: self.download(e))
            cell.cancel_button.clicked.connect(lambda _=False, i=entry.id: self.manager.cancel(i))
            self.cells[entry.id] = cell
            self.catalog_table.setCellWidget(row, 4, cell)
        header = self.catalog_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # long names wrap rather than squeeze "Good for" and push the Download buttons out of sight
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Fixed)
        self.catalog_table.setColumnWidth(0, 250)
        self.catalog_table.setColumnWidth(2, 190)
        self.catalog_table.setColumnWidth(4, CELL_WIDTH + 8)
        header.sectionResized.connect(lambda *_: self.catalog_table.resizeRowsToContents())

        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("Hugging Face repo id (owner/name) or https URL of a .safetensors file")
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("file in the repo (optional)")
        self.source_button = QPushButton("Download")
        self.source_button.clicked.connect(self.download_source)
        self.source_edit.returnPressed.connect(self.download_source)
        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Other model:"))
        source_row.addWidget(self.source_edit, 3)
        source_row.addWidget(self.file_edit, 1)
        source_row.addWidget(self.source_button)
        self.other_downloads = QVBoxLayout()

        layout = QVBoxLayout(tab)
        layout.addWidget(self.recommended_label)
        layout.addWidget(self.catalog_table, 1)
        layout.addLayout(source_row)
        layout.addLayout(self.other_downloads)
        return tab

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.catalog_table.resizeRowsToContents)  # once the layout gave columns their widths

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self.catalog_table.resizeRowsToContents)

    # ---- showing the manager's state -----------------------------------------------------------

    def refresh(self) -> None:
        models = sorted(self.manager.installed(include_previews=True), key=lambda m: m.kind != "checkpoint")
        default = self.manager.default_model_id()
        self.empty_label.setVisible(not models)
        selected = self.selected_id()
        self.installed_table.setRowCount(len(models))
        for row, model in enumerate(models):
            family = str(model.family) if model.kind == "checkpoint" else KIND_NAMES.get(model.kind, model.kind)
            if model.inpainting:
                family += " inpainting"
            name = model.name + ("  (default)" if model.id == default and model.available else "")
            if not model.available:
                name += "  — missing: its files were deleted or moved"
            lacking = self.manager.missing_parts(model) if model.available else ""
            if lacking:
                name += "  — needs its text encoders and VAE"
            items = [
                QTableWidgetItem(name),
                QTableWidgetItem(family),
                QTableWidgetItem(human_size(model.size_bytes) if model.available else "—"),
                QTableWidgetItem(model.source_label),
                QTableWidgetItem(str(model.path)),
            ]
            items[0].setData(Qt.ItemDataRole.UserRole, model.id)
            items[0].setToolTip(lacking or model.id)
            for column, item in enumerate(items):
                self.installed_table.setItem(row, column, item)
            if model.id == selected:
                self.installed_table.selectRow(row)
        total = sum(m.size_bytes for m in models if m.owned)
        self.disk_label.setText(
            f"{len(models)} model{'s' if len(models) != 1 else ''}; downloaded and copied ones use {human_size(total)}."
        )
        installed = installed_entries(self.entries.values(), models)
        offline = self.manager.offline()
        for entry_id, cell in self.cells.items():
            progress = self.manager.progress(entry_id)
            if progress is not None:
                cell.show_busy(progress)
            elif entry_id in installed:
                cell.show_installed()
            else:
                cell.show_idle()
            cell.download_button.setEnabled(not offline)
            cell.download_button.setToolTip("Working offline: turn it off below to download" if offline else "")
        self.source_button.setEnabled(not offline)
        self._update_buttons()

    def selected_id(self) -> str | None:
        rows = self.installed_table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.installed_table.item(rows[0].row(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, model_id: str) -> None:
        for row in range(self.installed_table.rowCount()):
            item = self.installed_table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == model_id:
                self.installed_table.selectRow(row)
                return

    def _update_buttons(self) -> None:
        selected = self.selected_id()
        self.remove_button.setEnabled(selected is not None)
        model = next((m for m in self.manager.installed(include_previews=True) if m.id == selected), None)
        self.default_button.setEnabled(model is not None and model.kind == "checkpoint" and model.available)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "")
        self.message.setVisible(bool(text))

    # ---- actions -------------------------------------------------------------------------------

    def download(self, entry: CatalogEntry) -> None:
        self.show_message("")
        self.manager.download(entry)

    def download_source(self) -> None:
        text = self.source_edit.text().strip()
        if not text:
            self.show_message("Type a Hugging Face repo id (owner/name) or the URL of a .safetensors file.", True)
            return
        self.show_message("")
        self.manager.download(text, file=self.file_edit.text().strip() or None)

    def import_path(self, path: str | Path) -> None:
        self.show_message(f"Importing {path}…")
        self.manager.import_path(path, copy=self.copy_box.isChecked())

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a model file", "", "Models (*.safetensors *.ckpt);;All files (*)"
        )
        if path:
            self.import_path(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Import a diffusers model folder, or the folder of AUTOMATIC1111, ComfyUI or InvokeAI"
        )
        if path:
            self.import_path(path)

    def confirm(self, text: str) -> bool:
        answer = QMessageBox.question(self, "Remove model", text)
        return answer == QMessageBox.StandardButton.Yes

    def remove_selected(self) -> None:
        model = next((m for m in self.manager.installed(include_previews=True) if m.id == self.selected_id()), None)
        if model is None:
            return
        if model.owned:
            question = f"Remove {model.name} and delete its files ({human_size(model.size_bytes)})?"
        else:
            question = f"Remove {model.name} from the list? Its files stay where they are ({model.path})."
        if not self.confirm(question):
            return
        try:
            self.manager.remove(model.id)
        except DesktopSDError as exc:
            self.show_message(str(exc), True)
            return
        self.show_message(f"{model.name} was removed.")

    def clean_partials(self) -> None:
        try:
            freed = self.manager.clean_partial_downloads()
        except OSError as exc:
            self.show_message(f"Could not delete unfinished downloads: {exc.strerror or exc}.", True)
            return
        self.show_message(f"Deleted unfinished downloads: {human_size(freed)} freed.")

    def set_selected_default(self) -> None:
        selected = self.selected_id()
        if selected is None:
            return
        try:
            self.manager.set_default(selected)
        except DesktopSDError as exc:
            self.show_message(str(exc), True)

    # ---- manager signals -----------------------------------------------------------------------

    def _cell(self, model_id: str) -> DownloadCell:
        cell = self.cells.get(model_id) or self.other_cells.get(model_id)
        if cell is None:
            cell = DownloadCell()
            cell.cancel_button.clicked.connect(lambda _=False, i=model_id: self.manager.cancel(i))
            row = QHBoxLayout()
            label = QLabel(model_id)
            row.addWidget(label)
            row.addWidget(cell, 1)
            holder = QWidget()
            holder.setLayout(row)
            holder.setObjectName(f"download:{model_id}")
            self.other_downloads.addWidget(holder)
            self.other_cells[model_id] = cell
        return cell

    def _drop_other(self, model_id: str) -> None:
        cell = self.other_cells.pop(model_id, None)
        if cell is not None:
            holder = cell.parentWidget()
            if holder is not None:
                holder.deleteLater()

    def _on_started(self, model_id: str) -> None:
        self._cell(model_id).show_busy()

    def _on_progress(self, model_id: str, done: int, total: int, speed: float) -> None:
        self._cell(model_id).show_busy(Progress(done, total, speed))

    def _on_finished(self, model_id: str) -> None:
        self._drop_other(model_id)
        self.refresh()
        self.select(model_id)
        self.show_message(f"{model_id} is installed and ready to use.")

    def _on_failed(self, model_id: str, message: str) -> None:
        self._drop_other(model_id)
        self.refresh()
        self.show_message(message, True)

    def _on_cancelled(self, model_id: str) -> None:
        self._drop_other(model_id)
        self.refresh()
        self.show_message(f"The download of {model_id} was cancelled.")

    def _on_imported(self, model_id: str) -> None:
        self.refresh()
        self.select(model_id)
        self.tabs.setCurrentIndex(0)
        self.show_message(f"{model_id} was imported.")

    def _on_import_failed(self, path: str, message: str) -> None:
        self.show_message(message, True)

    def _on_offline_changed(self, offline: bool) -> None:
        if self.offline_box.isChecked() != offline:
            self.offline_box.blockSignals(True)
            self.offline_box.setChecked(offline)
            self.offline_box.blockSignals(False)
        self.refresh()

    def done(self, result: int) -> None:
        """Closing the dialog leaves downloads running; the manager owns them."""
        super().done(result)
