"""Generate > Speed: the CPU precision and compile settings, kept and handed to the engine at its start."""

from __future__ import annotations

import json

from desktop_sd.cli.speed_args import speed_options_from
from desktop_sd.core.settings import Settings
from tests.ui.conftest import WindowFactory


def test_picking_a_cpu_precision_is_kept_and_reaches_the_engine_options(make_window: WindowFactory) -> None:
    window = make_window()
    menu = window.speed_menu
    assert menu is not None and menu.menu.title() == "&Speed"
    checked = [a.data() for a in menu.precisions.actions() if a.isChecked()]
    assert checked == ["auto"]  # the default: bfloat16 only where the CPU runs it natively
    bf16 = next(a for a in menu.precisions.actions() if a.data() == "bfloat16")
    bf16.trigger()
    menu.compile.trigger()
    window.save_settings()
    settings = Settings.load()
    assert (settings.cpu_precision, settings.compile_unet) == ("bfloat16", True)
    options = speed_options_from(settings)
    assert options.cpu_precision == "bfloat16" and options.compile_unet and options.cpu_threads


def test_an_unknown_cpu_precision_in_the_settings_file_keeps_automatic(tmp_path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 2, "cpu_precision": "float16"}), encoding="utf-8")
    settings = Settings.load(path)
    assert settings.cpu_precision == "auto"
    assert settings.notice is not None and "cpu_precision" in settings.notice
