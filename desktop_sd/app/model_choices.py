"""The models the picker offers: those the model manager has installed, files or folders
the user pointed at directly (``--model PATH``, "Add model file…"), then the checkpoints of
the user's ComfyUI servers, each under its server's name."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from desktop_sd.core.errors import DesktopSDError
from desktop_sd.core.request import Family
from desktop_sd.library.metadata import model_display_name
from desktop_sd.models.catalog import load_catalog
from desktop_sd.models.inspection import flow_transformer, read_header
from desktop_sd.models.resolve import ref_for_path
from desktop_sd.models.transformer_files import read_gguf
from desktop_sd.remote.mixed import server_model_id


def server_choice_name(server: str, checkpoint: str) -> str:
    """A server checkpoint as the picker names it: the server, then the file name without extension."""
    return f"{server}: {model_display_name(checkpoint)}"


@dataclass(frozen=True)
class ModelChoice:
    id: str  # GenerationRequest.model: anything models.resolve understands, or a server model id
    name: str
    family: Family
    server: str = ""  # the ComfyUI server whose checkpoint this is ("" for a local model)
    steps: int = 0  # the settings its model card recommends (catalog downloads; 0: none known)
    cfg_scale: float = 0.0

    def suggested(self) -> dict[str, Any]:
        """``PromptValues`` changes that picking this model brings: its recommended steps and CFG."""
        return {"steps": self.steps, "cfg_scale": self.cfg_scale} if self.steps > 0 else {}

    def suggestion_text(self) -> str:
        """What picking it changed, for the status bar ("" when nothing)."""
        if self.steps <= 0:
            return ""
        steps = f"{self.steps} step{'s' if self.steps != 1 else ''}"
        label = "guidance" if self.family is Family.FLUX else "CFG"
        return f"{self.name}: its recommended {steps} and {label} {self.cfg_scale:g} are set"


# Flux files from elsewhere: dev (distilled guidance) runs ~28 steps at 3.5, schnell 4 steps with none
FLUX_DEV_SETTINGS, FLUX_SCHNELL_SETTINGS = (28, 3.5), (4, 0.0)


def _recommended(model: Any) -> tuple[int, float]:
    """The catalog's steps and CFG for a catalog model (downloaded here, or by another tool into the Hub
    cache: matched by repo); for another Flux model, dev's or schnell's, told from its file or config;
    else (0, 0.0)."""
    if getattr(model, "kind", "checkpoint") != "checkpoint":
        return 0, 0.0
    origin = getattr(model, "origin", "")
    entry = next((e for e in load_catalog() if e.repo_id == origin and e.kind == "checkpoint"), None)
    if entry is not None and getattr(model, "source", "") in ("catalog", "hub", "hf-cache"):
        return entry.steps, entry.cfg_scale
    path = getattr(model, "path", None)
    if getattr(model, "family", None) is Family.FLUX and isinstance(path, Path) and path.exists():
        config = path / "transformer" / "config.json" if path.is_dir() else path
        guidance = _flux_guidance(path, config.stat().st_mtime_ns) if config.exists() else None
        if guidance is not None:
            return FLUX_DEV_SETTINGS if guidance else FLUX_SCHNELL_SETTINGS
    return 0, 0.0


@functools.lru_cache(maxsize=256)
def _flux_guidance(path: Path, mtime_ns: int) -> bool | None:
    """Whether a Flux model has dev's distilled-guidance input: a folder's transformer config, a file's
    header (headers only; remembered per file version)."""
    try:
        if path.is_dir():
            config = json.loads((path / "transformer" / "config.json").read_text(encoding="utf-8"))
            return bool(config.get("guidance_embeds", False)) if isinstance(config, dict) else None
        if path.suffix.lower() == ".gguf":
            return read_gguf(path).guidance
        shapes = {k: tuple(v["shape"]) for k, v in read_header(path).items() if k != "__metadata__"}
    except (DesktopSDError, OSError, ValueError):
        return None
    info = flow_transformer(shapes)
    return info.guidance if info is not None else None


class InstalledModels(Protocol):
    """What the picker needs from the model manager."""

    installed_changed: Any  # Signal()

    def installed(self) -> list[Any]: ...  # objects with .id, .name, .family

    def default_model_id(self) -> str | None: ...


class ModelChoices(QObject):
    changed = Signal()

    def __init__(self, manager: InstalledModels | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._manager = manager
        self._extra: list[ModelChoice] = []
        self._server_models: dict[str, list[ModelChoice]] = {}
        if manager is not None:
            manager.installed_changed.connect(self.changed)

    def items(self) -> list[ModelChoice]:
        installed: list[ModelChoice] = []
        if self._manager is not None:
            for m in self._manager.installed():
                steps, cfg = _recommended(m)
                family = _family(getattr(m, "family", None))
                installed.append(ModelChoice(str(m.id), str(m.name), family, steps=steps, cfg_scale=cfg))
        ids = {c.id for c in installed}
        local = installed + [c for c in self._extra if c.id not in ids]
        return local + [c for server in sorted(self._server_models) for c in self._server_models[server]]

    def set_server_models(self, server: str, checkpoints: list[str]) -> None:
        """Offer ``server``'s checkpoints, named under the server ("gpu-box: dreamshaper_8"); none removes them."""
        choices = [ModelChoice(server_model_id(server, c), server_choice_name(server, c), Family.UNKNOWN, server)
                   for c in checkpoints]  # fmt: skip
        if choices == self._server_models.get(server, []):
            return
        if choices:
            self._server_models[server] = choices
        else:
            self._server_models.pop(server, None)
        self.changed.emit()

    def servers_offered(self) -> list[str]:
        return sorted(self._server_models)

    def find(self, model_id: str) -> ModelChoice | None:
        return next((c for c in self.items() if c.id == model_id), None)

    def name_of(self, model_id: str) -> str:
        """The name to show for ``model_id`` (the id itself for a model not offered any more)."""
        choice = self.find(model_id) if model_id else None
        return choice.name if choice is not None else model_id

    def default_id(self) -> str:
        if self._manager is not None:
            default = self._manager.default_model_id()
            if default:
                return str(default)
        items = self.items()
        return items[0].id if items else ""

    def add_path(self, path: str | Path) -> ModelChoice:
        """Offer a model folder or ``.safetensors`` file. Raises ``ModelError`` with a reason when unusable."""
        resolved = Path(path).expanduser().resolve()
        ref = ref_for_path(resolved, str(resolved))
        choice = ModelChoice(ref.id, resolved.stem if resolved.is_file() else resolved.name, ref.family)
        existing = self.find(choice.id)
        if existing is not None:
            return existing
        self._extra.append(choice)
        self.changed.emit()
        return choice

    def extra_paths(self) -> list[str]:
        return [c.id for c in self._extra]


def _family(value: object) -> Family:
    try:
        return Family(str(value))
    except ValueError:
        return Family.UNKNOWN


# Width x height choices per family: the sizes each was trained at, in common aspect ratios.
ASPECT_PRESETS: dict[Family, tuple[tuple[str, int, int], ...]] = {
    Family.SD1: (
        ("1:1", 512, 512),
        ("2:3", 512, 768),
        ("3:2", 768, 512),
        ("3:4", 480, 640),
        ("4:3", 640, 480),
        ("9:16", 432, 768),
        ("16:9", 768, 432),
    ),
    Family.SD2: (
        ("1:1", 768, 768),
        ("2:3", 640, 960),
        ("3:2", 960, 640),
        ("3:4", 672, 896),
        ("4:3", 896, 672),
        ("9:16", 576, 1024),
        ("16:9", 1024, 576),
    ),
    Family.SDXL: (
        ("1:1", 1024, 1024),
        ("2:3", 832, 1216),
        ("3:2", 1216, 832),
        ("3:4", 896, 1152),
        ("4:3", 1152, 896),
        ("9:16", 768, 1344),
        ("16:9", 1344, 768),
    ),
}


# SD 3 and Flux train at about a megapixel in the same buckets as SDXL.
ASPECT_PRESETS[Family.SD3] = ASPECT_PRESETS[Family.FLUX] = ASPECT_PRESETS[Family.SDXL]


def aspect_presets(family: Family) -> tuple[tuple[str, int, int], ...]:
    return ASPECT_PRESETS.get(family, ASPECT_PRESETS[Family.SD1])
