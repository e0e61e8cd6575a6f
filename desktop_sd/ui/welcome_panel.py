"""What the canvas area shows when no model is installed: a way to get one, never a dead Generate button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomePanel(QWidget):
    open_models = Signal()
    add_model_file = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("<h2>Welcome to Desktop SD</h2>", wordWrap=True)
        text = QLabel(
            "To make images you need a Stable Diffusion model. Download one from the model manager "
            "(it works offline afterwards), or use a model file you already have "
            "(<i>.safetensors</i> or a diffusers folder).",
            wordWrap=True,
        )
        text.setMaximumWidth(460)
        self.models_button = QPushButton("Get a model…")
        self.models_button.setDefault(True)
        self.models_button.setMinimumHeight(34)
        self.models_button.clicked.connect(self.open_models)
        self.file_button = QPushButton("Use a model file or folder…")
        self.file_button.clicked.connect(self.add_model_file)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (title, text, self.models_button, self.file_button):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
