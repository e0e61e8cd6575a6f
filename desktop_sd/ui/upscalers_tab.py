"""The Models dialog's "Upscalers" tab: installed upscaler models, the catalog to download, Import."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_sd.app.upscaler_manager import UpscalerManager
from desktop_sd.models.transfer import human_size
from desktop_sd.models.upscalers import CatalogUpscaler, upscalers_dir


class UpscalersTab(QWidget):
    def __init__(self, manager: UpscalerManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.installed_list = QTreeWidget()
        self.installed_list.setHeaderLabels(["Upscaler", "Where", "File"])
        self.installed_list.setRootIsDecorated(False)
        self.installed_list.header().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.catalog_list = QTreeWidget()
        self.catalog_list.setHeaderLabels(["Download", "Scale", "Size", "Licence", "What it is for"])
        self.catalog_list.setRootIsDecorated(False)
        self.catalog_list.setWordWrap(True)
        self.catalog_list.header().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.status = QLabel(wordWrap=True)
        self.import_button = QPushButton("Import a file…")
        self.import_button.setToolTip("Copy a .pth or .safetensors upscaler (ESRGAN, Real-ESRGAN, SwinIR, HAT...)")
        self.import_button.clicked.connect(self._choose_file)
        self.download_buttons: dict[str, QPushButton] = {}

        hint = QLabel(
            f"Upscalers live in {upscalers_dir()}; those in linked AUTOMATIC1111 (models/ESRGAN...) and ComfyUI "
            "(models/upscale_models) folders are used in place.",
            wordWrap=True,
        )
        hint.setStyleSheet("color: palette(placeholder-text);")
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Installed"))
        layout.addWidget(self.installed_list, 1)
        layout.addWidget(QLabel("Offered for download"))
        layout.addWidget(self.catalog_list, 1)
        layout.addWidget(hint)
        layout.addLayout(row)

        manager.changed.connect(self.refresh)
        manager.download_progress.connect(self._on_progress)
        manager.download_finished.connect(lambda _id: self.status.setText("Download finished."))
        manager.download_failed.connect(self._on_failed)
        manager.import_failed.connect(self.status.setText)
        self.refresh()

    def refresh(self) -> None:
        self.installed_list.clear()
        for found in self.manager.installed():
            where = "linked folder" if found.linked else "Desktop SD"
            self.installed_list.addTopLevelItem(QTreeWidgetItem([found.name, where, str(found.path)]))
        self.catalog_list.clear()
        self.download_buttons.clear()
        for entry in self.manager.catalog():
            item = QTreeWidgetItem(["", f"{entry.scale}×", f"~{human_size(entry.size_bytes)}", entry.licence])
            item.setText(4, f"{entry.name}: {entry.purpose}")
            item.setToolTip(3, entry.licence_url)
            self.catalog_list.addTopLevelItem(item)
            installed = self.manager.is_installed(entry)
            button = QPushButton("Installed" if installed else "Download")
            button.setEnabled(not installed and not self.manager.is_downloading(entry.id))
            button.clicked.connect(lambda _checked=False, e=entry: self._download(e))
            self.catalog_list.setItemWidget(item, 0, button)
            self.download_buttons[entry.id] = button

    def _download(self, entry: CatalogUpscaler) -> None:
        self.download_buttons[entry.id].setEnabled(False)
        self.status.setText(f"Downloading {entry.name}…")
        self.manager.download(entry)

    def _on_progress(self, entry_id: str, done: int, total: int) -> None:
        button = self.download_buttons.get(entry_id)
        if button is not None:
            button.setText(f"{done * 100 // total}%" if total else human_size(done))

    def _on_failed(self, entry_id: str, message: str) -> None:
        self.status.setText(message)
        button = self.download_buttons.get(entry_id)
        if button is not None:
            button.setText("Download")
            button.setEnabled(True)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import an upscaler", "", "Upscalers (*.pth *.safetensors)")
        if path:
            self.manager.import_file(path)
