"""Every command of the main window as a ``QAction``: one place for names, shortcuts and tips.

Menus, the toolbar, the prompt panel and the candidate bar all show these same
actions, so a shortcut works everywhere and a disabled command looks disabled
everywhere. Single-letter tool shortcuts do not fire while a text field has
focus: the field takes the key first.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

Key = QKeySequence.StandardKey
PROMPT_WEIGHTS_TIP = "Read (word:1.2), (word), [word] and BREAK in prompts, and prompts past 75 tokens, as A1111 does"


def _action(
    parent: QObject, text: str, shortcut: str | Key | list[str] | None = None, tip: str = "", checkable: bool = False
) -> QAction:
    action = QAction(text, parent)
    if isinstance(shortcut, list):
        action.setShortcuts([QKeySequence(s) for s in shortcut])
    elif isinstance(shortcut, Key):
        action.setShortcuts(shortcut)
    elif shortcut:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    action.setCheckable(checkable)
    return action


class WindowActions:
    def __init__(self, parent: QObject) -> None:
        a = _action
        # File
        self.new = a(parent, "&New canvas…", Key.New, "Start a blank canvas of a chosen size")
        self.open = a(parent, "&Open…", Key.Open, "Open an image or a Desktop SD project")
        self.save = a(parent, "&Save project", Key.Save, "Save the canvas, mask and settings as a project")
        self.save_as = a(parent, "Save project &as…", "Ctrl+Shift+S", "Save the project under a new name")
        self.export = a(parent, "&Export image…", "Ctrl+E", "Save the canvas as a PNG with its generation settings")
        self.import_images = a(
            parent, "&Import images into the history…", "Ctrl+Shift+I", "Copy images made here or by other tools"
            " into the history, with the settings they carry (or drop files and folders on the History panel)"
        )
        self.quit = a(parent, "&Quit", Key.Quit, "Close Desktop SD")
        # Edit
        self.copy = a(parent, "&Copy image", Key.Copy, "Copy the canvas (or the candidate on show) to the clipboard")
        self.paste = a(parent, "&Paste image", Key.Paste, "Open the image on the clipboard as the canvas")
        self.clear_mask = a(parent, "C&lear mask", "Ctrl+Shift+X", "Remove the whole mask")
        self.invert_mask = a(parent, "&Invert mask", "Ctrl+I", "Mask what is not masked and the other way round")
        self.fill_mask = a(parent, "&Fill mask", "Ctrl+Shift+F", "Mask the whole image")
        # View
        self.zoom_in = a(parent, "Zoom &in", Key.ZoomIn, "Zoom in")
        self.zoom_out = a(parent, "Zoom &out", Key.ZoomOut, "Zoom out")
        self.zoom_fit = a(parent, "&Fit to window", "Ctrl+0", "Show the whole canvas and frame")
        self.zoom_actual = a(parent, "&Actual size (100 %)", "Ctrl+1", "One image pixel per screen pixel")
        self.themes = QActionGroup(parent)
        for theme, label in (("dark", "&Dark"), ("light", "&Light"), ("system", "Like the &system")):
            action = a(parent, label, None, f"{label.replace('&', '')} theme", True)
            action.setData(theme)
            self.themes.addAction(action)
        self.reset_layout = a(parent, "&Reset layout", None, "Put the panels back where they started")
        # No shortcut of its own: a Tab shortcut would steal Tab from moving the focus; the canvas handles Tab.
        self.toggle_panels = a(parent, "Hide &panels\tTab", None, "Hide or show every panel: the canvas alone", True)
        # Tools
        self.tools = QActionGroup(parent)
        self.tool_frame = a(parent, "&Frame", "F", "Move and resize the generation frame (F)", True)
        self.tool_brush = a(parent, "&Brush", "B", "Paint the mask: the area to repaint (B)", True)
        self.tool_eraser = a(parent, "&Eraser", "E", "Erase the mask (E)", True)
        for tool in (self.tool_frame, self.tool_brush, self.tool_eraser):
            self.tools.addAction(tool)
        self.tool_frame.setChecked(True)
        self.brush_smaller = a(parent, "Smaller brush", "[", "Make the brush smaller ([)")
        self.brush_larger = a(parent, "Larger brush", "]", "Make the brush larger (])")
        # Generate
        self.generate = a(parent, "&Generate", ["Ctrl+Return", "Ctrl+Enter"], "Generate with these settings")
        self.cancel = a(parent, "&Cancel", "Esc", "Stop the running job within one step")
        self.cancel.setEnabled(False)
        self.previous = a(parent, "&Previous candidate", "Alt+Left", "Show the previous candidate")
        self.next = a(parent, "&Next candidate", "Alt+Right", "Show the next candidate")
        self.apply = a(parent, "&Apply", "Alt+Return", "Put this candidate on the canvas (undoable)")
        self.discard = a(parent, "&Discard", "Alt+Backspace", "Throw this candidate away (it stays in History)")
        self.last_seed = a(parent, "Use &last seed", "Ctrl+R", "Fix the seed to the one of the last image")
        self.prompt_weights = a(parent, "Prompt &weights (A1111 syntax)", None, PROMPT_WEIGHTS_TIP, True)
        self.upscale = a(parent, "&Upscale canvas image…", None, "Make the canvas image larger with an upscaler model")
        # Models
        self.manage_models = a(parent, "&Manage models…", "Ctrl+M", "Download, import and remove models")
        self.add_model_file = a(parent, "Use a model &file…", None, "A checkpoint file (.ckpt is converted first)")
        self.add_model_folder = a(parent, "Use a model f&older…", None, "Use a diffusers model folder from disk")
        self.servers = a(parent, "ComfyUI &servers…", None, "Add, remove and test ComfyUI servers to generate on")
        # Help
        self.shortcuts = a(parent, "&Keyboard shortcuts", Key.HelpContents, "List the keyboard shortcuts")
        self.about = a(parent, "&About Desktop SD", None, "Version and credits")
        self.open_logs = a(parent, "Open &log folder", None, "Show the folder with the app's log and crash reports")

    def all(self) -> list[QAction]:
        return [value for value in vars(self).values() if isinstance(value, QAction)]
