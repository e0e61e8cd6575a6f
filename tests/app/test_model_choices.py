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
