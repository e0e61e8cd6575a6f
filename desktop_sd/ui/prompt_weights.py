"""Generate > Prompt weights (A1111 syntax): the setting, the jobs and the token counter kept in step."""

from __future__ import annotations

from PySide6.QtGui import QAction

from desktop_sd.app.prompt_model import PromptModel
from desktop_sd.app.tokens import TokenCounter
from desktop_sd.core.settings import Settings


def bind_prompt_weights(action: QAction, settings: Settings, prompt: PromptModel, counter: TokenCounter) -> None:
    """Check ``action`` as ``settings.prompt_weights`` says; toggling it keeps the setting, makes the next
    jobs read prompts that way, and has the token counter count the way the engine will read them."""

    def apply(on: bool) -> None:
        settings.prompt_weights = on
        prompt.update(prompt_weights=on)
        counter.set_prompt_weights(on)

    action.setChecked(settings.prompt_weights)
    apply(settings.prompt_weights)
    action.toggled.connect(apply)
