"""Reusing parameters: installed LoRAs and VAE are kept, missing ones are named."""

from __future__ import annotations

from desktop_sd.app.addon_check import check_addons, installed_names
from desktop_sd.core import paths
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.models.addons import AddonKind
from tests.models import addon_files


def test_installed_are_kept_and_missing_are_named() -> None:
    addon_files.kohya_lora(paths.models_dir() / "loras" / "Detail.safetensors")
    addon_files.vae(paths.models_dir() / "vae" / "ft-mse.safetensors")
    request = GenerationRequest(
        Mode.TXT2IMG, "fox <lora:detail:0.5> <lora:gone:1>", loras=(("Detail", 0.7), ("absent", 1.0)), vae="ft-mse"
    )
    kept, notices = check_addons(request)
    assert kept.loras == (("Detail", 0.7),) and kept.vae == "ft-mse"
    assert kept.prompt == request.prompt  # tags stay as written
    assert notices == ["LoRA not installed: absent, gone. Install it (Models > Manage models) to use it."]
    _, notices = check_addons(request.replace(loras=(), prompt="fox", vae="other-vae"))
    assert notices == ["VAE not installed: other-vae. The model's own VAE is used instead."]
    assert installed_names(AddonKind.EMBEDDING) == set()
