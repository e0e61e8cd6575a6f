"""What the canvas area shows when no model is installed: a way to get one, never a dead Generate button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QSizePolicy, QVBoxLayout, QWidget

TEXT_WIDTH = 440  # wide enough for the buttons, narrow enough to read; wraps inside any canvas width


class WelcomePanel(QWidget):
    open_models = Signal()
    add_model_file = Signal()
    add_model_folder = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("<h2>Welcome to Desktop SD</h2>")
        title.setWordWrap(True)
        text = QLabel(
            "To make images you need a Stable Diffusion model. Download one from the model manager "
            "(it works offline afterwards), or use a model you already have: a <i>.safetensors</i> or "
            "<i>.ckpt</i> file, or a diffusers folder."
        )
        text.setWordWrap(True)
        for label in (title, text):
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            # Full column width, so the wrapped text is laid out for the width it really has.
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.models_button = QPushButton("Get a model…")
        self.models_button.setDefault(True)
        self.models_button.setMinimumHeight(34)
        self.models_button.clicked.connect(self.open_models)
        self.file_button = QPushButton("Use a model file or folder…")
        menu = QMenu(self.file_button)
        menu.addAction("A model file (.safetensors, .ckpt)…", self.add_model_file.emit)
        menu.addAction("A diffusers model folder…", self.add_model_folder.emit)
        self.file_button.setMenu(menu)

        column = QWidget()
        column.setMaximumWidth(TEXT_WIDTH)
        inner = QVBoxLayout(column)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(title)
        inner.addWidget(text)
        for button in (self.models_button, self.file_button):
            inner.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column, 100)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
