"""The installed add-ons (LoRAs, embeddings, VAEs) as the window sees them: listed, imported, removed.

Listing reads only safetensors headers, cached by file size and time, so it is
cheap enough for the GUI thread; ``changed`` tells the prompt panel and the
Models window to list again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop_sd.models.addons import AddonFile, AddonKind, find_addons, import_addon, remove_addon


class AddonList(QObject):
    changed = Signal()

    def __init__(self, models_root: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = models_root
        self._items: dict[AddonKind, list[AddonFile]] = {}

    def items(self, kind: AddonKind) -> list[AddonFile]:
        """The installed add-ons of ``kind`` (own folder first, then linked apps' folders)."""
        if kind not in self._items:
            self._items[kind] = find_addons(kind, self._root)
        return list(self._items[kind])

    def refresh(self) -> None:
        """Look at the folders again."""
        self._items.clear()
        self.changed.emit()

    def import_file(self, path: Path) -> AddonFile:
        """Copy a LoRA, embedding or VAE file in. Raises ``ModelError`` naming the problem."""
        added = import_addon(path, models_root=self._root)
        self.refresh()
        return added

    def remove(self, addon: AddonFile) -> None:
        """Delete an add-on Desktop SD holds. Raises ``ModelError`` for one in another app's folder."""
        remove_addon(addon, self._root)
        self.refresh()
