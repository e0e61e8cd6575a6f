"""The window's centre: messages over the canvas view (or the welcome panel), and the candidate bar.

It follows the generation controller: a running job's progress and preview
over its frame, then the candidates when no job runs.
"""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from desktop_sd.app.generation import GenerationController
from desktop_sd.app.upscale_jobs import counts_tiles
from desktop_sd.ui.actions import WindowActions
from desktop_sd.ui.candidate_bar import CandidateBar
from desktop_sd.ui.canvas_view import CanvasView, Tool
from desktop_sd.ui.message_area import MessageArea
from desktop_sd.ui.welcome_panel import WelcomePanel
from desktop_sd.ui.window_menus import CanvasToolbar


class CanvasArea(QWidget):
    def __init__(self, generation: GenerationController, actions: WindowActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._generation = generation
        candidates = generation.candidates
        self.view = CanvasView(generation.canvas)
        a = actions
        self.candidate_bar = CandidateBar(candidates, a.previous, a.next, a.apply, a.discard, self.view)
        self.welcome = WelcomePanel()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.welcome)
        self.messages = MessageArea()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.messages)
        layout.addWidget(self.stack, 1)

        self._progress: tuple[QRect, int, int, QImage, QImage | None] | None = None
        generation.job_started.connect(self._on_started)
        generation.job_progress.connect(self._on_progress)
        generation.job_cancelling.connect(self._on_cancelling)
        generation.job_phase.connect(self._on_phase)
        generation.idle.connect(self.show_candidate)
        candidates.changed.connect(self.show_candidate)

    def bind_tools(self, actions: WindowActions, tools: CanvasToolbar) -> None:
        """The view follows the zoom and tool actions and the toolbar's brush controls."""
        a, v, size, hardness = actions, self.view, tools.brush_size, tools.hardness
        for action, slot in (
            (a.zoom_in, lambda: v.zoom_by(1.25)),
            (a.zoom_out, lambda: v.zoom_by(0.8)),
            (a.zoom_fit, v.zoom_fit),
            (a.zoom_actual, v.zoom_actual),
            (a.tool_frame, lambda: v.set_tool(Tool.FRAME)),
            (a.tool_brush, lambda: v.set_tool(Tool.BRUSH)),
            (a.tool_eraser, lambda: v.set_tool(Tool.ERASER)),
            (a.brush_smaller, lambda: size.setValue(round(size.value() / 1.25))),
            (a.brush_larger, lambda: size.setValue(round(size.value() * 1.25 + 1))),
        ):
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
        v.tab_pressed.connect(a.toggle_panels.toggle)
        size.valueChanged.connect(v.set_brush_size)
        hardness.valueChanged.connect(lambda value: v.set_hardness(value / 100))
        v.set_brush_size(size.value())
        v.set_hardness(hardness.value() / 100)

    def _on_started(self, frame: QRect, total: int, doing: str) -> None:
        self._progress = (frame, 0, total, QImage(), None)
        self.view.show_progress(frame, 0, total, QImage(), None, doing)

    def _on_progress(self, frame: QRect, step: int, total: int, preview: QImage, clip: QImage | None) -> None:
        self._progress = (frame, step, total, preview, clip)
        # After the last step the image is decoded, which on the CPU takes a while too.
        label = "Decoding the image…" if step == total else ""
        if counts_tiles(self._generation.queue):  # an upscale job counts the tiles it has done
            label = f"Tile {step} of {total}"
        self.view.show_progress(frame, step, total, preview, clip, label)

    def _on_phase(self, frame: QRect, text: str) -> None:
        if self._progress is not None:
            _frame, step, total, preview, clip = self._progress
            self.view.show_progress(frame, step, total, preview, clip, text)

    def _on_cancelling(self) -> None:
        if self._progress is not None:
            self.view.show_progress(*self._progress, "Cancelling…")

    def show_welcome(self, welcome: bool) -> None:
        self.stack.setCurrentWidget(self.welcome if welcome else self.view)

    def show_candidate(self) -> None:
        """The current candidate over its frame, once no job runs."""
        if self._generation.is_running():
            return
        candidates = self._generation.candidates
        current = candidates.current()
        if current is None:
            self.view.clear_preview()
            return
        caption = f"Candidate {candidates.index + 1} of {len(candidates)}"
        if current.request is not None:  # an image from the history may not say how it was made
            caption += f"  ·  seed {current.request.seed}"
        self.view.show_candidate(current.frame, current.image, caption)
