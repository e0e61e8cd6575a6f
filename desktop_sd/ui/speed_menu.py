"""Generate > Speed: the CPU's precision and the GPU's opt-in compile, kept in the settings.

The engine reads them when it starts (on the first job), so a change applies from the next start of the app.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from desktop_sd.core.settings import Settings

CPU_PRECISION_LABELS = (
    ("auto", "&Automatic (bfloat16 where the CPU runs it natively)"),
    ("float32", "&float32 (exact, slower)"),
    ("bfloat16", "&bfloat16 (faster on CPUs with AVX512-BF16 or AMX)"),
)
APPLIES = "Applies from the next start of Desktop SD."


class SpeedMenu:
    """The Speed submenu of ``parent``; each choice is written to ``settings`` at once."""

    def __init__(self, parent: QMenu, settings: Settings) -> None:
        self._settings = settings
        self.menu = parent.addMenu("&Speed")
        precision = self.menu.addMenu("CPU &precision")
        self.precisions = QActionGroup(self.menu)
        for value, label in CPU_PRECISION_LABELS:
            action = QAction(label, self.menu, checkable=True)
            action.setData(value)
            action.setChecked(settings.cpu_precision == value)
            action.setStatusTip(f"Run the model in {value} on the CPU. {APPLIES}")
            self.precisions.addAction(action)
            precision.addAction(action)
        self.precisions.triggered.connect(self._precision_picked)
        self.compile = QAction("&Compile the model on the GPU (first run takes minutes)", self.menu, checkable=True)
        self.compile.setChecked(settings.compile_unet)
        self.compile.setStatusTip(f"torch.compile the UNet on a CUDA GPU: faster steps once compiled. {APPLIES}")
        self.compile.toggled.connect(self._compile_toggled)
        self.menu.addAction(self.compile)

    def _precision_picked(self, action: QAction) -> None:
        self._settings.cpu_precision = str(action.data())

    def _compile_toggled(self, on: bool) -> None:
        self._settings.compile_unet = bool(on)
