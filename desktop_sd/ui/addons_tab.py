"""The Models window's add-ons tab: LoRAs, embeddings and VAEs with their family, size and place; import, remove."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_sd.app.addon_list import AddonList
from desktop_sd.core.errors import DesktopSDError
from desktop_sd.models.addons import KIND_LABELS, AddonFile, AddonKind, own_folder
from desktop_sd.models.transfer import human_size

COLUMNS = ("Name", "Family", "Size", "Where", "Trigger words")
GROUPS = {AddonKind.LORA: "LoRAs", AddonKind.EMBEDDING: "Embeddings", AddonKind.VAE: "VAEs"}


class AddonsTab(QWidget):
    def __init__(self, addons: AddonList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.addons = addons
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setRootIsDecorated(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_button = QPushButton("Import file…")
        self.import_button.setToolTip("Copy a LoRA, embedding or VAE .safetensors file into Desktop SD's folder")
        self.remove_button = QPushButton("Remove")
        self.refresh_button = QPushButton("Look again")
        self.refresh_button.setToolTip("List the folders again (files added or removed outside Desktop SD)")
        hint = QLabel(
            f"Also found: files in {own_folder(AddonKind.LORA).parent} (loras, embeddings, vae) and in the "
            "linked AUTOMATIC1111 and ComfyUI folders. Use a LoRA with the LoRA picker or <lora:NAME:WEIGHT>."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(placeholder-text);")
        buttons = QHBoxLayout()
        for button in (self.import_button, self.remove_button, self.refresh_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.message)
        layout.addWidget(hint)
        layout.addLayout(buttons)
        self.import_button.clicked.connect(self._choose_file)
        self.remove_button.clicked.connect(self.remove_selected)
        self.refresh_button.clicked.connect(addons.refresh)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        addons.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.tree.clear()
        for kind, title in GROUPS.items():
            items = self.addons.items(kind)
            group = QTreeWidgetItem([f"{title} ({len(items)})"])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(group)
            for addon in items:
                where = "Desktop SD" if addon.owned else f"another app: {addon.path.parent}"
                row = QTreeWidgetItem(
                    [addon.name, addon.family_label, human_size(addon.size_bytes), where, ", ".join(addon.triggers)]
                )
                row.setData(0, Qt.ItemDataRole.UserRole, addon)
                row.setToolTip(0, str(addon.path) + (f"\nCannot be used: {addon.problem}" if addon.problem else ""))
                group.addChild(row)
            group.setExpanded(True)
        self._update_buttons()

    def selected(self) -> AddonFile | None:
        items = self.tree.selectedItems()
        data = items[0].data(0, Qt.ItemDataRole.UserRole) if items else None
        return data if isinstance(data, AddonFile) else None

    def select(self, name: str) -> None:
        for row in self.tree.findItems(name, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 0):
            if isinstance(row.data(0, Qt.ItemDataRole.UserRole), AddonFile):
                self.tree.setCurrentItem(row)
                return

    def import_path(self, path: Path) -> None:
        try:
            added = self.addons.import_file(path)
        except DesktopSDError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"{added.name} was imported ({KIND_LABELS[added.kind]}, {added.family_label}).")
        self.select(added.name)

    def remove_selected(self) -> None:
        addon = self.selected()
        if addon is None:
            return
        question = f"Remove {addon.name} and delete its file ({human_size(addon.size_bytes)})?"
        if QMessageBox.question(self, "Remove", question) != QMessageBox.StandardButton.Yes:
            return
        try:
            self.addons.remove(addon)
        except DesktopSDError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"{addon.name} was removed.")

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a LoRA, embedding or VAE", "", "Add-ons (*.safetensors);;All files (*)"
        )
        if path:
            self.import_path(Path(path))

    def _update_buttons(self) -> None:
        addon = self.selected()
        self.remove_button.setEnabled(addon is not None and addon.owned)
        self.remove_button.setToolTip(
            "" if addon is None or addon.owned else "It lies in another app's folder: remove it there"
        )
