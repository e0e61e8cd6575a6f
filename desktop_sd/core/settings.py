"""User settings: typed fields with defaults and ranges, kept in one JSON file under the config folder.

Each setting is a field of ``Settings``; ``Settings.load()`` reads the file,
keeping the default for anything missing, mistyped or out of range, and
migrating files written by older versions. A file that fails to parse is
moved aside (under a name of its own: never over an earlier copy) and
defaults load; a value of the wrong type keeps its default. Either way
``Settings.notice`` says so, and the caller shows it to the user (load once
per process, so a file moved aside is reported where the user looks). Keys
this version does not know (written by a newer one) are kept and written back.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from desktop_sd.core import paths
from desktop_sd.core.aside import move_aside
from desktop_sd.core.atomic import atomic_write
from desktop_sd.core.disk_errors import describe_os_error
from desktop_sd.core.errors import StorageError

VERSION = 2

# Version 1 files held dotted keys; each maps to a field of version 2.
_V1_KEYS = {
    "offline": "offline",
    "prompt": "prompt",
    "window.geometry": "window_geometry",
    "window.state": "window_state",
    "models.extra": "extra_models",
    "canvas.brush_size": "brush_size",
    "canvas.hardness": "brush_hardness",
    "files.last_folder": "last_folder",
}


CPU_PRECISIONS = ("auto", "float32", "bfloat16")


def _limits(lowest: float, highest: float) -> dict[str, tuple[float, float]]:
    return {"range": (lowest, highest)}


@dataclass(eq=False)
class Settings:
    offline: bool = False  # make no network calls at all (the model manager's switch)
    prompt: dict[str, Any] = field(default_factory=dict)  # the prompt panel's values; checked by app.PromptValues
    window_geometry: str = ""  # Qt's saveGeometry(), base64
    window_state: str = ""  # Qt's saveState() of docks and toolbars, base64
    extra_models: list[str] = field(default_factory=list)  # model files and folders the user added by path
    brush_size: int = field(default=48, metadata=_limits(1, 1024))
    brush_hardness: float = field(default=0.8, metadata=_limits(0.0, 1.0))
    last_folder: str = ""  # where file dialogs open
    theme: str = "dark"  # "dark", "light" or "system"
    # ComfyUI servers the user added: name -> URL (``remote.servers``; tokens live in the OS keyring, never here).
    servers: dict[str, str] = field(default_factory=dict)
    prompt_weights: bool = True  # read prompts with A1111's syntax: (word:1.2), [word], BREAK, past 75 tokens
    # Precision on the CPU: "auto" is bfloat16 where the CPU runs it natively (AVX512-BF16, AMX), else float32.
    cpu_precision: str = field(default="auto", metadata={"choices": CPU_PRECISIONS})
    compile_unet: bool = False  # torch.compile the UNet on a CUDA GPU (the first run takes minutes)

    path: Path = field(default_factory=paths.settings_file, repr=False, metadata={"stored": False})
    notice: str | None = field(default=None, repr=False, metadata={"stored": False})
    unknown: dict[str, Any] = field(default_factory=dict, repr=False, metadata={"stored": False})

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """The settings in ``path`` (default: the user's settings file); defaults where there are none."""
        settings = cls(path=path or paths.settings_file())
        if not settings.path.exists():
            return settings
        try:
            data = json.loads(settings.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("settings must be a JSON object")
        except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
            why = "it is too deeply nested" if isinstance(exc, RecursionError) else exc
            settings.notice = (
                f"The settings file could not be read ({why}); defaults loaded, {_move_aside(settings.path)}."
            )
            return settings
        problems = settings._apply(_migrate(data))
        if problems:
            settings.notice = (
                f"Some settings in {settings.path} had values of the wrong type; their defaults are used: "
                f"{', '.join(problems)}."
            )
        return settings

    def save(self) -> None:
        """Write atomically (temp file, flush, fsync, rename). Raises ``StorageError`` (an ``OSError``)
        saying why, with the previous file kept."""
        data = json.dumps(self.to_dict(), indent=2, sort_keys=True).encode("utf-8")

        def write(stream: BinaryIO) -> None:
            stream.write(data)

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, write)
        except OSError as exc:
            raise StorageError(
                f"Could not save the settings in {self.path}: {describe_os_error(exc)} The previous settings were kept."
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.unknown)
        data.update({f.name: getattr(self, f.name) for f in _stored_fields()})
        data["version"] = VERSION
        return data

    def _apply(self, data: dict[str, Any]) -> list[str]:
        """Take the values that fit; returns what was wrong with the others ("offline (true or false, not 3)")."""
        known = {f.name for f in _stored_fields()} | {"version"}
        self.unknown = {k: v for k, v in data.items() if k not in known}
        problems: list[str] = []
        for f in _stored_fields():
            if f.name in data:
                value = _checked(f, data[f.name])
                if value is not None:
                    setattr(self, f.name, value)
                if value is None or (isinstance(value, list) and len(value) != len(data[f.name])):
                    problems.append(f"{f.name} ({_KIND_OF[type(_default(f))]}, not {_quoted(data[f.name])})")
        return problems


def _stored_fields() -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(Settings) if f.metadata.get("stored", True)]


_KIND_OF = {bool: "true or false", int: "a number", float: "a number", str: "text", list: "a list of text"}
_KIND_OF[dict] = "an object"
_QUOTE_LIMIT = 40


def _default(f: dataclasses.Field[Any]) -> Any:
    return f.default if f.default_factory is dataclasses.MISSING else f.default_factory()


def _quoted(value: Any) -> str:
    """A JSON value as written, cut short (a notice quotes it, it does not repeat the file)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):
        text = "?"
    return text if len(text) <= _QUOTE_LIMIT else f"{text[: _QUOTE_LIMIT - 1]}…"


def _checked(f: dataclasses.Field[Any], value: Any) -> Any:
    """``value`` if it fits the field (clamped to its range; a list keeps its text items), else None
    (the default stays)."""
    default = _default(f)
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return None
        lowest, highest = f.metadata.get("range", (float("-inf"), float("inf")))
        return type(default)(min(highest, max(lowest, value)))
    if isinstance(default, str):
        return value if isinstance(value, str) and value in f.metadata.get("choices", (value,)) else None
    if isinstance(default, list):
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else None
    if isinstance(default, dict):
        return value if isinstance(value, dict) else None
    return None


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A file of any earlier version, in this version's keys."""
    version = data.get("version", 1)
    if version == 1 or not isinstance(version, int):
        data = {_V1_KEYS.get(key, key): value for key, value in data.items()}
    return data


def _move_aside(path: Path) -> str:
    try:
        aside = move_aside(path, "corrupt")
    except OSError:
        return "it could not be moved aside"
    return f"it was moved to {aside}"
