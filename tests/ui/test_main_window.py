"""The main window as a user drives it, with a fake backend: generate, candidates, queue, cancel, errors, files."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QObject, QPointF, QRect, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QDockWidget
from pytestqt.qtbot import QtBot

from desktop_sd.app.messages import Level
from desktop_sd.core.errors import OutOfMemoryError
from desktop_sd.core.request import Borders, Mode
from desktop_sd.core.settings import Settings
from desktop_sd.ui import questions
from desktop_sd.ui.main_window import MainWindow
from tests.app.fake_backend import COLOURS, FakeBackend
from tests.app.test_result_saver import FlakyStore
from tests.ui.conftest import WindowFactory


def _photo(path: Path, size: tuple[int, int] = (256, 192), colour: tuple[int, int, int] = (90, 120, 150)) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


def _generate(qtbot: QtBot, window: MainWindow, timeout: int = 10_000) -> object:
    with qtbot.waitSignal(window.queue.job_finished, timeout=timeout) as finished:
        qtbot.mouseClick(window.prompt_panel.generate_button, Qt.MouseButton.LeftButton)
    return finished.args[1]


def _messages(window: MainWindow, level: Level | None = None) -> list[str]:
    return [m.text for m in window.messages.messages() if level is None or m.level is level]


def test_the_window_has_the_parts_of_a_desktop_app(make_window: WindowFactory) -> None:
    window = make_window()
    assert window.windowTitle() == "Untitled[*] — Desktop SD" and not window.isWindowModified()
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "View", "Generate", "Models", "Help"]
    docks = {d.windowTitle() for d in window.findChildren(QDockWidget)}
    assert {"Prompt", "History", "Queue"} <= docks
    assert window.stack.currentWidget() is window.view
    assert window.status.model_label.text() == "Model: fake-model"


def test_generate_from_the_panel_puts_a_candidate_on_the_canvas_and_apply_is_undoable(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    store = FlakyStore(ok=10)
    window = make_window(store=store)
    window.prompt_panel.prompt_edit.setFocus()
    qtbot.keyClicks(window.prompt_panel.prompt_edit, "a red fox")
    window.prompt.update(steps=3, width=128, height=96, seed=5, random_seed=False)
    result = _generate(qtbot, window)
    request = window.backend.requests[0]  # type: ignore[attr-defined]
    assert (request.prompt, request.mode, request.width, request.height, request.seed) == (
        "a red fox",
        Mode.TXT2IMG,
        128,
        96,
        5,
    )
    assert len(window.candidates) == 1 and window.view.preview_item.isVisible()
    assert window.prompt.last_seed == 5
    qtbot.waitUntil(lambda: len(store.saved) == 1)  # in the history as soon as it finished
    assert result.images[0].size == (128, 96)

    window.actions_.apply.trigger()
    assert len(window.candidates) == 0 and not window.view.preview_item.isVisible()
    assert window.canvas.image.pixelColor(10, 10).getRgb()[:3] == COLOURS[0]
    assert window.isWindowModified() and window.canvas.mode is Mode.IMG2IMG
    window.menus.undo.trigger()
    assert window.canvas.image is None and window.canvas.mode is Mode.TXT2IMG
    window.menus.redo.trigger()
    assert window.canvas.image is not None


def test_a_batch_can_be_stepped_through_and_candidates_discarded(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    window.prompt.update(prompt="boats", steps=1, batch_size=3, width=64, height=64, seed=100, random_seed=False)
    _generate(qtbot, window)
    assert len(window.candidates) == 3 and window.candidate_bar.counter.text() == "1 / 3"
    window.actions_.next.trigger()
    assert window.candidates.current().request.seed == 101
    assert window.candidate_bar.counter.text() == "2 / 3"
    window.actions_.discard.trigger()
    assert len(window.candidates) == 2
    window.actions_.apply.trigger()
    assert window.canvas.image.pixelColor(1, 1).getRgb()[:3] == COLOURS[2]
    assert not window.candidate_bar.isVisible()


def test_generate_while_busy_queues_and_the_queue_panel_can_remove_jobs(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    backend = FakeBackend(gated=True)
    window = make_window(backend)
    window.prompt.update(prompt="q", steps=1, width=64, height=64)
    finished: list[int] = []
    window.queue.job_finished.connect(lambda job_id, _r: finished.append(job_id))
    ids = [window.generation.generate() for _ in range(3)]
    panel = window.queue_panel
    assert panel.model.rowCount() == 3
    assert panel.model.data(panel.model.index(0)).startswith("▶")
    assert window.status.queue_label.text() == "2 waiting"
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    panel.list.setCurrentIndex(panel.model.index(1))
    panel.remove_button.setFocus()
    panel.remove_button.click()
    assert [j.id for j in window.queue.jobs()] == [ids[0], ids[2]]
    qtbot.waitUntil(panel.list.hasFocus)  # not the brush size field, or wherever Qt's focus chain goes next
    backend.allow(2)
    qtbot.waitUntil(lambda: finished == [ids[0], ids[2]], timeout=10_000)
    assert len(window.candidates) == 2 and panel.model.rowCount() == 0


def test_escape_cancels_the_running_job_and_the_canvas_is_left_as_it_was(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    backend = FakeBackend(gated=True)
    window = make_window(backend)
    window.show()
    window.prompt.update(prompt="slow", steps=50, width=64, height=64)
    edits = window.canvas.undo_stack.count()
    with qtbot.waitSignal(window.queue.progress, timeout=10_000):
        window.generation.generate()
        backend.allow(1)
    assert window.view.preview_item.isVisible() and window.status.progress.isVisible()
    assert window.actions_.cancel.isEnabled() and window.prompt_panel.cancel_button.isEnabled()
    with qtbot.waitSignal(window.queue.job_cancelled, timeout=10_000):
        qtbot.keyClick(window.view, Qt.Key.Key_Escape)
        backend.allow(1)
    assert not window.actions_.cancel.isEnabled()
    assert not window.view.preview_item.isVisible() and len(window.candidates) == 0
    assert window.canvas.image is None and window.canvas.undo_stack.count() == edits


def test_cancel_shows_cancelling_at_once_while_the_job_has_not_stopped_yet(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    backend = FakeBackend(gated=True)
    window = make_window(backend)
    window.show()
    window.prompt.update(prompt="slow", steps=50, width=64, height=64)
    with qtbot.waitSignal(window.queue.job_started, timeout=10_000):
        window.generation.generate()
    assert window.view.preview_item.label == "Loading the model…"  # not "Step 0 of 50" while it loads
    with qtbot.waitSignal(window.queue.progress, timeout=10_000):
        backend.allow(1)
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)  # the backend is stuck inside its step: nothing ends yet
    assert window.queue.running() is not None
    assert window.view.preview_item.label == "Cancelling…"
    assert window.status.progress.format() == "Cancelling…"
    assert not window.actions_.cancel.isEnabled() and not window.prompt_panel.cancel_button.isEnabled()
    with qtbot.waitSignal(window.queue.job_cancelled, timeout=10_000):
        backend.allow(1)
    assert not window.view.preview_item.isVisible()


def test_an_error_is_a_readable_non_blocking_message_and_the_next_job_runs(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    backend = FakeBackend()
    window = make_window(backend)
    window.prompt.update(prompt="big", steps=1, width=64, height=64)
    backend.fail_with = OutOfMemoryError("Out of memory even with sequential offload. Lower the size and try again.")
    with qtbot.waitSignal(window.queue.job_failed, timeout=10_000):
        window.generation.generate()
    errors = _messages(window, Level.ERROR)
    assert errors == ["Out of memory even with sequential offload. Lower the size and try again."]
    assert window.messages.isVisible() or not window.isVisible()
    _generate(qtbot, window)
    assert len(window.candidates) == 1
    window.messages.messages()[0].dismiss()
    assert _messages(window) == []


def test_input_notices_are_shown_before_the_job_runs(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    window.prompt.update(prompt="a\x00cat", steps=1, width=64, height=64)
    _generate(qtbot, window)
    assert any("NUL characters" in text for text in _messages(window, Level.INFO))
    assert window.backend.requests[0].prompt == "acat"  # type: ignore[attr-defined]


def test_with_no_model_installed_the_window_leads_to_getting_one(
    qtbot: QtBot, make_window: WindowFactory, fake_model_dir: Path
) -> None:
    opened: list[object] = []
    window = make_window(with_model=False, open_models_dialog=opened.append)
    assert window.stack.currentWidget() is window.welcome
    assert window.generation.generate() is None
    assert any("Choose a model first" in text for text in _messages(window, Level.WARNING))
    qtbot.mouseClick(window.welcome.models_button, Qt.MouseButton.LeftButton)
    assert opened == [window]
    assert window.files.add_model(fake_model_dir)
    assert window.stack.currentWidget() is window.view
    assert window.prompt.values.model == str(fake_model_dir.resolve())


def test_a_corrupt_settings_file_is_moved_aside_and_the_user_told(
    make_window: WindowFactory, isolated_home: Path
) -> None:
    settings = Settings.load()
    settings.path.parent.mkdir(parents=True, exist_ok=True)
    settings.path.write_text("{ not json", encoding="utf-8")
    window = make_window()
    warnings = _messages(window, Level.WARNING)
    assert len(warnings) == 1 and "could not be read" in warnings[0]
    assert list(settings.path.parent.glob("settings.json.corrupt-*"))


def test_window_layout_and_prompt_settings_persist(make_window: WindowFactory) -> None:
    first = make_window()
    first.show()
    first.resize(700, 520)  # the offscreen screen is 800x800: stay inside it
    saved_size = first.size()
    first.prompt.update(prompt="kept", steps=33, width=640, height=448)
    first.queue_dock.hide()
    first.save_settings()
    second = make_window()
    assert second.size() == saved_size and saved_size.height() == 520
    assert (second.prompt.values.prompt, second.prompt.values.steps) == ("kept", 33)
    assert second.prompt_panel.steps_spin.value() == 33
    assert (second.canvas.frame.width(), second.canvas.frame.height()) == (640, 448)
    assert second.queue_dock.isHidden()
    assert second.canvas.undo_stack.count() == 0 and second.canvas.undo_stack.isClean()


def test_mode_is_shown_in_the_panel_and_follows_the_canvas(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    panel = window.prompt_panel
    assert panel.mode_label.text() == "Text to image" and not panel.strength_spin.isEnabled()
    assert window.files.open_path(_photo(tmp_path / "p.png"))
    assert panel.mode_label.text() == "Image to image" and panel.strength_spin.isEnabled()
    window.canvas.begin_stroke()
    window.canvas.stroke_segment(QPointF(50, 50), QPointF(80, 50), 10, 1.0, False)
    window.canvas.end_stroke()
    assert panel.mode_label.text() == "Inpaint" and panel.feather_spin.isEnabled()
    window.canvas.set_frame(QRect(-64, 0, 320, 192))  # past the image, the painted mask still inside
    assert panel.mode_label.text() == "Outpaint + inpaint" and not panel.strength_spin.isEnabled()


def test_outpainting_past_the_image_grows_the_canvas(qtbot: QtBot, make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    window.files.open_path(_photo(tmp_path / "p.png"))
    window.prompt.update(prompt="more sky", steps=1)
    window.canvas.set_frame(QRect(-64, -32, 320, 224))
    assert (window.prompt.values.width, window.prompt.values.height) == (320, 224)
    _generate(qtbot, window)
    request = window.backend.requests[0]  # type: ignore[attr-defined]
    assert request.mode is Mode.OUTPAINT and request.outpaint == Borders(64, 32, 0, 0)
    assert request.init_image.size == (256, 192)
    window.actions_.apply.trigger()
    assert window.canvas.rect == QRect(-64, -32, 320, 224)
    window.menus.undo.trigger()
    assert window.canvas.rect == QRect(0, 0, 256, 192)


def test_frame_size_and_panel_size_are_one_setting(make_window: WindowFactory) -> None:
    window = make_window()
    window.prompt_panel.width_spin.setValue(768)
    assert window.canvas.frame.width() == 768
    window.canvas.set_frame(QRect(0, 0, 448, 320))
    assert window.prompt_panel.width_spin.value() == 448 and window.prompt_panel.height_spin.value() == 320


def test_document_round_trip_and_modified_state(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    changes: list[None] = []
    window.document_changed.connect(lambda: changes.append(None))
    window.files.open_path(_photo(tmp_path / "p.png"))
    window.prompt.update(prompt="saved prompt")
    assert changes and window.isWindowModified()
    doc = window.generation.document()
    assert doc.image.size == (256, 192) and doc.prompt["prompt"] == "saved prompt"

    other = make_window()
    other.load_document(doc)
    assert other.canvas.undo_stack.isClean() and other.canvas.title == "p.png"
    assert other.prompt.values.prompt == "saved prompt"
    assert other.canvas.rect == window.canvas.rect and other.canvas.mode is Mode.IMG2IMG


def test_save_project_then_open_it_again(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    window.files.open_path(_photo(tmp_path / "p.png"))
    window.canvas.fill_mask()
    project = tmp_path / "work.sdproj"
    assert window.files.save_to(project)
    assert window.canvas.undo_stack.isClean() and window.windowTitle() == "work[*] — Desktop SD"
    other = make_window()
    assert other.files.open_path(project)
    assert other.canvas.mode is Mode.INPAINT and other.canvas.title == "work"


def test_export_writes_a_png_with_the_settings_of_the_applied_result(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    metadata = pytest.importorskip("desktop_sd.library.metadata")
    window = make_window()
    window.prompt.update(prompt="lighthouse at dusk", steps=2, width=64, height=64, seed=77, random_seed=False)
    _generate(qtbot, window)
    window.actions_.apply.trigger()
    written = window.files.export_to(tmp_path / "out")
    assert written == tmp_path / "out.png"
    parsed = metadata.read_parameters(written)
    assert parsed is not None and parsed.prompt == "lighthouse at dusk" and parsed.seed == 77
    assert Image.open(written).size == (64, 64)


def test_a_damaged_image_gives_a_clear_message_and_keeps_the_canvas(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    window.files.open_path(_photo(tmp_path / "good.png"))
    bad = tmp_path / "bad.png"
    bad.write_bytes((tmp_path / "good.png").read_bytes()[:60])
    assert not window.files.open_path(bad)
    assert any("bad.png" in text for text in _messages(window, Level.ERROR))
    assert window.canvas.title == "good.png" and window.canvas.rect.width() == 256


def test_paste_and_copy_use_the_clipboard(make_window: WindowFactory) -> None:
    window = make_window()
    image = QImage(96, 64, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkGreen)
    QGuiApplication.clipboard().setImage(image)
    window.actions_.paste.trigger()
    assert window.canvas.rect.width() == 96 and window.canvas.title == "Pasted image"
    QGuiApplication.clipboard().clear()
    window.actions_.copy.trigger()
    copied = QGuiApplication.clipboard().image()
    assert copied.size() == image.size()


def test_a_failed_history_save_keeps_the_images_and_retry_saves_them(qtbot: QtBot, make_window: WindowFactory) -> None:
    store = FlakyStore(ok=0)
    window = make_window(store=store)
    window.prompt.update(prompt="x", steps=1, width=64, height=64)
    _generate(qtbot, window)
    qtbot.waitUntil(lambda: bool(_messages(window, Level.ERROR)), timeout=10_000)
    banner = next(m for m in window.messages.messages() if m.level is Level.ERROR)
    assert "kept in memory" in banner.text and window.generation.saver.unsaved_count() == 1
    store.ok = 10
    retry = next(b for b in banner.buttons if b.text() == "Retry")
    with qtbot.waitSignal(window.generation.saver.saved, timeout=10_000):
        retry.click()
    assert len(store.saved) == 1 and window.generation.saver.unsaved_count() == 0


def test_reuse_parameters_and_seed_fill_the_panel(make_window: WindowFactory) -> None:
    window = make_window()
    from desktop_sd.core.request import GenerationRequest

    window.reuse(GenerationRequest(Mode.TXT2IMG, "from history", steps=9, seed=3, width=512, height=768))
    panel = window.prompt_panel
    assert panel.prompt_edit.toPlainText() == "from history" and panel.steps_spin.value() == 9
    assert panel.seed_spin.value() == 3 and not panel.random_check.isChecked()
    assert window.canvas.frame.height() == 768
    window.generation.reuse_seed(11)
    assert panel.seed_spin.value() == 11


def test_closing_while_a_job_runs_cancels_it_and_joins_the_thread(qtbot: QtBot, make_window: WindowFactory) -> None:
    backend = FakeBackend(gated=True)
    window = make_window(backend)
    window.show()
    window.prompt.update(prompt="x", steps=100, width=64, height=64)
    with qtbot.waitSignal(window.queue.progress, timeout=10_000):
        window.generation.generate()
        backend.allow(1)
    backend.allow(1)
    assert window.close()
    assert not window.queue._thread.isRunning()


def test_closing_with_unsaved_canvas_work_asks_first(
    make_window: WindowFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    window = make_window()
    window.show()
    window.files.open_path(_photo(tmp_path / "p.png"))
    asked: list[str] = []

    def answer(_parent: object, title: str, *_rest: object) -> QMessageBox.StandardButton:
        asked.append(title)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(questions, "ask_save_discard", answer)
    assert not window.close()
    assert asked == ["Unsaved canvas"] and window.isVisible()
    assert window.queue._thread is not None  # still working


def test_typing_when_the_window_opens_goes_into_the_prompt(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.prompt_panel.prompt_edit.hasFocus())
    qtbot.keyClicks(window.prompt_panel.prompt_edit.focusWidget() or window, "a lighthouse")
    assert window.prompt.values.prompt == "a lighthouse"


def test_opening_another_image_drops_candidates_made_for_the_old_one(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    window.files.open_path(_photo(tmp_path / "first.png"))
    window.prompt.update(prompt="x", steps=1, batch_size=2)
    with qtbot.waitSignal(window.queue.job_finished, timeout=10_000):
        window.generation.generate()
    assert len(window.candidates) == 2 and window.actions_.apply.isEnabled()
    window.files.open_path(_photo(tmp_path / "second.png"))
    assert len(window.candidates) == 0 and not window.actions_.apply.isEnabled()
    assert not window.view.preview_item.isVisible()


class _ConvertingManager(QObject):
    """The model manager's import side, as the model picker uses it for pickle checkpoints."""

    import_finished = Signal(str)
    import_failed = Signal(str, str)
    download_progress = Signal(str, int, int, float)
    download_finished = Signal(str)
    download_failed = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.imports: list[str] = []

    def import_path(self, path: object, copy: bool) -> str:
        self.imports.append(str(path))
        return f"import:{path}"

    def shutdown(self) -> None:
        pass


def test_a_pickle_checkpoint_picked_as_a_model_file_is_converted_then_chosen(
    make_window: WindowFactory, tmp_path: Path
) -> None:
    manager = _ConvertingManager()
    ckpt = tmp_path / "old-model.ckpt"
    ckpt.write_bytes(b"not loaded here")
    window = make_window(model_manager=manager)
    assert window.files.add_model(ckpt)
    assert manager.imports == [str(ckpt)]
    assert any("Converting old-model.ckpt" in m.text for m in window.messages.messages())
    manager.import_finished.emit("old-model")  # the safe copy is installed
    assert window.prompt.values.model == "old-model"
    broken = tmp_path / "broken.ckpt"
    window.files.add_model(broken)
    manager.import_failed.emit(str(broken), "it is not a Stable Diffusion checkpoint.")
    assert any("broken.ckpt could not be used" in m.text for m in window.messages.messages())


def test_tab_on_the_canvas_hides_every_panel_and_brings_them_back(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    window.queue_dock.hide()  # a panel the user had closed stays closed afterwards
    qtbot.waitUntil(window.prompt_panel.prompt_edit.hasFocus)  # where the focus starts
    window.view.setFocus()
    qtbot.waitUntil(window.view.hasFocus)
    canvas_width = window.view.width()
    qtbot.keyClick(window.view, Qt.Key.Key_Tab)
    assert not window.prompt_dock.isVisible() and not window.history_dock.isVisible()
    qtbot.waitUntil(lambda: window.view.width() > canvas_width)
    qtbot.keyClick(window.view, Qt.Key.Key_Tab)
    assert window.prompt_dock.isVisible() and window.history_dock.isVisible() and not window.queue_dock.isVisible()


def test_tab_in_the_prompt_moves_the_focus_instead(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(window.prompt_panel.prompt_edit.hasFocus)
    qtbot.keyClick(window.prompt_panel.prompt_edit, Qt.Key.Key_Tab)
    assert window.prompt_dock.isVisible() and not window.prompt_panel.prompt_edit.hasFocus()


def test_the_canvas_refits_when_the_window_changes_size_until_the_user_zooms(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.view.width() > 0)
    fitted = window.view.zoom()
    window.resize(900, 600)
    qtbot.waitUntil(lambda: window.view.zoom() < fitted)
    window.view.zoom_by(1.25)
    zoomed = window.view.zoom()
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.view.width() > 500)
    assert window.view.zoom() == zoomed


def test_file_names_are_suggested_from_the_document(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    window.files.open_path(_photo(tmp_path / "test2.png"))
    assert window.files.document_name() == "test2"  # not "test2.png.sdproj" when saving
    window.canvas.new_blank(window.canvas.frame.size())
    window.prompt.update(prompt="A lighthouse at dusk, oil painting", steps=1, random_seed=False, seed=7)
    with qtbot.waitSignal(window.queue.job_finished, timeout=10_000):
        window.generation.generate()
    window.actions_.apply.trigger()
    assert window.files.document_name() == "A-lighthouse-at-dusk-oil-painting-7"  # not "Untitled"


def test_a_brand_new_blank_canvas_is_not_marked_unsaved(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    window.canvas.new_blank(window.canvas.frame.size())
    assert not window.isWindowModified()
    window.canvas.fill_mask()
    assert window.isWindowModified()


def test_the_choose_a_model_warning_goes_once_a_model_is_there(
    make_window: WindowFactory, fake_model_dir: Path
) -> None:
    window = make_window(with_model=False)
    window.prompt.update(prompt="x")
    assert window.generation.generate() is None
    assert any("Choose a model first" in m.text for m in window.messages.messages())
    window.files.add_model(fake_model_dir)
    assert not any("Choose a model first" in m.text for m in window.messages.messages())


def test_the_status_bar_estimates_the_time_left_from_the_steps_so_far(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    backend = FakeBackend(gated=True)
    window = make_window(backend)
    window.prompt.update(prompt="slow", steps=10, width=64, height=64)
    window.generation.generate()
    for _ in range(3):
        with qtbot.waitSignal(window.queue.progress, timeout=10_000):
            backend.allow(1)
    assert "left" in window.status.progress.format() and "Step 3/10" in window.status.progress.format()
    backend.allow(10)
    qtbot.waitUntil(lambda: window.queue.running() is None)


def test_a_very_long_job_is_asked_about_before_it_starts(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    window.prompt.update(prompt="huge", steps=1, width=2048, height=1536)
    assert window.generation.generate() is None and window.queue.running() is None
    banner = next(m for m in window.messages.messages() if "large for the CPU" in m.text)
    with qtbot.waitSignal(window.queue.job_finished, timeout=20_000):
        next(b for b in banner.buttons if b.text() == "Generate anyway").click()


def test_after_the_last_step_the_canvas_and_status_bar_say_the_image_is_decoded(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    backend = FakeBackend(gated=True)
    window = make_window(backend)
    window.prompt.update(prompt="x", steps=3, width=64, height=64)
    job_id = window.generation.generate()
    with qtbot.waitSignal(window.queue.progress, timeout=10_000):
        backend.allow(1)
    window.queue.progress.emit(job_id, 3, 3, QImage())  # the last step is done; the decode runs now
    assert window.view.preview_item.label == "Decoding the image…"
    assert window.status.progress.format() == "Decoding the image…"
    backend.allow(3)
    qtbot.waitUntil(lambda: window.queue.running() is None)


def test_an_outpaint_that_also_repaints_a_mask_says_so(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    window.files.open_path(_photo(tmp_path / "p.png"))
    window.canvas.set_frame(QRect(-64, 0, 256, 192))
    assert window.prompt_panel.mode_label.text() == "Outpaint"
    window.canvas.begin_stroke()
    window.canvas.stroke_segment(QPointF(60, 60), QPointF(90, 90), 12, 1.0, False)
    window.canvas.end_stroke()
    assert window.prompt_panel.mode_label.text() == "Outpaint + inpaint"
    assert "repainted too" in window.prompt_panel.mode_hint.text()
    assert window.view.frame_item._label.endswith("Outpaint + inpaint")


def test_what_a_job_does_before_its_steps_shows_on_the_canvas_and_in_the_status_bar(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    from desktop_sd.core.backend import report_phase

    class Loading(FakeBackend):
        def generate(self, request, on_step, cancelled):  # type: ignore[no-untyped-def]
            report_phase("Loading the model: unet (3 of 6)…")  # as the engine does from the worker thread
            return super().generate(request, on_step, cancelled)

    backend = Loading(gated=True)
    window = make_window(backend)
    window.prompt.update(prompt="x", steps=2, width=64, height=64)
    with qtbot.waitSignal(window.queue.job_phase, timeout=10_000):
        window.generation.generate()
    assert window.view.preview_item.label == "Loading the model: unet (3 of 6)…"
    assert window.status.progress.format() == "Loading the model: unet (3 of 6)…"
    first = window.queue_panel.model.index(0)
    assert "(loading the model: unet (3 of 6))" in window.queue_panel.model.data(first)
    backend.allow(2)
    qtbot.waitUntil(lambda: window.queue.running() is None)


def test_the_status_bar_says_when_the_images_are_in_the_history(qtbot: QtBot, make_window: WindowFactory) -> None:
    store = FlakyStore(ok=10)
    window = make_window(store=store)
    window.prompt.update(prompt="x", steps=1, width=64, height=64, batch_size=2)
    with qtbot.waitSignal(window.generation.saver.saved, timeout=10_000):
        window.generation.generate()
    assert window.status.currentMessage() == "Saved 2 image(s)"
