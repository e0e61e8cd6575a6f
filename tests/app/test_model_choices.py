"""The picker's models carry the steps and CFG their catalog entry recommends, by where they came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_sd.app.model_choices import ModelChoices
from desktop_sd.core.request import Family


@dataclass(frozen=True)
class Installed:
    id: str
    name: str
    family: Family
    source: str
    origin: str
    kind: str = "checkpoint"
    path: Path = Path("/nowhere")


class Manager(QObject):
    installed_changed = Signal()

    def __init__(self, models: list[Installed]) -> None:
        super().__init__()
        self.models = models

    def installed(self) -> list[Any]:
        return list(self.models)

    def default_model_id(self) -> str | None:
        return None


def test_catalog_downloads_carry_their_recommended_settings_imports_none() -> None:
    manager = Manager(
        [
            Installed("sd-turbo", "SD-Turbo", Family.SD2, "catalog", "stabilityai/sd-turbo"),
            Installed("flux1-dev", "FLUX.1 [dev]", Family.FLUX, "catalog", "black-forest-labs/FLUX.1-dev"),
            Installed("flux1-dev-2", "flux1-dev", Family.FLUX, "import", "/downloads/flux1-dev.safetensors"),
        ]
    )
    choices = {c.id: c for c in ModelChoices(manager).items()}
    assert choices["sd-turbo"].suggested() == {"steps": 1, "cfg_scale": 0.0}
    assert choices["flux1-dev"].suggested() == {"steps": 28, "cfg_scale": 3.5}
    assert "guidance 3.5" in choices["flux1-dev"].suggestion_text()
    assert choices["flux1-dev-2"].suggested() == {}  # a file of the same name, not the catalog's


def test_flux_files_from_elsewhere_get_dev_or_schnell_settings_from_their_header(tmp_path: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    def flux_file(name: str, guidance: bool) -> Path:
        shapes = {"double_blocks.0.img_attn.qkv.weight": (6, 2), "img_in.weight": (3, 64)}
        if guidance:
            shapes["guidance_in.in_layer.weight"] = (4, 2)
        save_file({k: np.zeros(v, dtype=np.float16) for k, v in shapes.items()}, str(tmp_path / name))
        return tmp_path / name

    dev, schnell = flux_file("my-flux-dev.safetensors", True), flux_file("my-schnell.safetensors", False)
    manager = Manager(
        [
            Installed("dev", "my-flux-dev", Family.FLUX, "import", str(dev), path=dev),
            Installed("schnell", "my-schnell", Family.FLUX, "import", str(schnell), path=schnell),
        ]
    )
    choices = {c.id: c for c in ModelChoices(manager).items()}
    assert choices["dev"].suggested() == {"steps": 28, "cfg_scale": 3.5}
    assert choices["schnell"].suggested() == {"steps": 4, "cfg_scale": 0.0}


def test_flux_folders_another_tool_downloaded_get_their_settings(tmp_path: Path) -> None:
    import json

    schnell = tmp_path / "some-flux-schnell"
    (schnell / "transformer").mkdir(parents=True)
    (schnell / "transformer" / "config.json").write_text(json.dumps({"guidance_embeds": False}), encoding="utf-8")
    dev_cache = Installed("dev", "FLUX.1-dev", Family.FLUX, "hf-cache", "black-forest-labs/FLUX.1-dev")
    manager = Manager([Installed("schnell", "some-flux-schnell", Family.FLUX, "folder", "", path=schnell), dev_cache])
    choices = {c.id: c for c in ModelChoices(manager).items()}
    assert choices["schnell"].suggested() == {"steps": 4, "cfg_scale": 0.0}
    assert choices["dev"].suggested() == {"steps": 28, "cfg_scale": 3.5}  # the catalog's, by its repo
