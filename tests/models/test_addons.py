"""LoRAs, embeddings and VAEs: found in Desktop SD's folders and in linked A1111 and ComfyUI folders,
judged from their headers, imported, resolved by name and removed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from desktop_sd.core import paths
from desktop_sd.core.errors import InputError, ModelError
from desktop_sd.core.request import Family
from desktop_sd.models import install
from desktop_sd.models.addons import AddonKind, find_addons, import_addon, remove_addon, resolve_addon
from desktop_sd.models.progress import Meter
from desktop_sd.models.registry import Registry
from tests.models import addon_files
from tests.models.builders import make_checkpoint
from tests.models.fakehub import FakeHub


def link(folder: Path) -> None:
    """Link an app folder as Models > Add folder does (it needs one checkpoint to accept the folder)."""
    registry = Registry()
    make_checkpoint(folder / "models" / "Stable-diffusion" / "base.safetensors")
    registry.add_folder(folder)


def test_own_and_linked_folders_are_listed_with_family_and_triggers(tmp_path: Path) -> None:
    own = paths.models_dir()
    addon_files.kohya_lora(own / "loras" / "Detail.safetensors", "sd1", tags={"sharp": 3, "detailed": 7})
    addon_files.loha(own / "loras" / "hada.safetensors")
    addon_files.embedding(own / "embeddings" / "bad-hands.safetensors")
    addon_files.vae(own / "vae" / "vae-ft-mse-840000-ema-pruned.safetensors")
    a1111 = tmp_path / "stable-diffusion-webui"
    addon_files.kohya_lora(a1111 / "models" / "Lora" / "xl-style.safetensors", "sdxl")
    addon_files.embedding(a1111 / "embeddings" / "xl-neg.safetensors", "sdxl")
    addon_files.vae(a1111 / "models" / "VAE" / "sdxl-fp16-fix.safetensors")
    link(a1111)
    comfy = tmp_path / "ComfyUI"
    addon_files.peft_lora(comfy / "models" / "loras" / "sub" / "peft-xl.safetensors")
    (comfy / "models" / "embeddings").mkdir(parents=True)
    (comfy / "models" / "embeddings" / "old.pt").write_bytes(b"PK\x03\x04 not unpickled")
    link(comfy)

    loras = {a.name: a for a in find_addons(AddonKind.LORA)}
    assert list(loras) == ["Detail", "hada", "xl-style", "peft-xl"]  # own first, then each linked folder
    assert loras["Detail"].family is Family.SD1 and loras["Detail"].owned
    assert loras["Detail"].triggers == ("detailed", "sharp")
    assert "LoHa" in loras["hada"].problem
    assert loras["xl-style"].family is Family.SDXL and not loras["xl-style"].owned
    assert loras["peft-xl"].family is Family.SDXL
    embeddings = {a.name: a.family for a in find_addons(AddonKind.EMBEDDING)}
    assert embeddings == {"bad-hands": Family.SD1, "xl-neg": Family.SDXL, "old": Family.UNKNOWN}
    assert [a.name for a in find_addons(AddonKind.VAE)] == ["vae-ft-mse-840000-ema-pruned", "sdxl-fp16-fix"]
    # a LoRA is not an embedding, nor a VAE: each kind lists only its own
    assert all(a.kind is AddonKind.VAE for a in find_addons(AddonKind.VAE))


def test_resolve_by_name_or_path_and_a_clear_message_when_missing(tmp_path: Path) -> None:
    path = addon_files.kohya_lora(paths.models_dir() / "loras" / "Detail.safetensors")
    assert resolve_addon(AddonKind.LORA, "Detail").path == path
    assert resolve_addon(AddonKind.LORA, "detail").path == path  # case does not matter
    outside = addon_files.kohya_lora(tmp_path / "elsewhere.safetensors")
    assert resolve_addon(AddonKind.LORA, str(outside)).path == outside.resolve()
    with pytest.raises(InputError, match=r"No LoRA named 'nope' is installed\. Put the file in .*loras"):
        resolve_addon(AddonKind.LORA, "nope")
    with pytest.raises(InputError, match="not a VAE file"):
        resolve_addon(AddonKind.VAE, str(outside))


def test_import_copies_into_the_folder_for_its_kind_and_remove_deletes_it(tmp_path: Path) -> None:
    lora = import_addon(addon_files.kohya_lora(tmp_path / "style.safetensors"))
    vae = import_addon(addon_files.vae(tmp_path / "ft-mse.safetensors"))
    again = import_addon(tmp_path / "style.safetensors")
    assert lora.path == paths.models_dir() / "loras" / "style.safetensors"
    assert vae.path.parent == paths.models_dir() / "vae"
    assert again.name == "style-2"
    remove_addon(lora)
    assert not lora.path.exists() and (tmp_path / "style.safetensors").exists()
    make_checkpoint(tmp_path / "whole.safetensors")
    with pytest.raises(ModelError, match="not a LoRA, embedding or VAE file"):
        import_addon(tmp_path / "whole.safetensors")


def test_an_add_on_in_another_apps_folder_is_not_deleted(tmp_path: Path) -> None:
    a1111 = tmp_path / "webui"
    path = addon_files.kohya_lora(a1111 / "models" / "Lora" / "theirs.safetensors")
    link(a1111)
    (theirs,) = find_addons(AddonKind.LORA)
    with pytest.raises(ModelError, match="another app's folder"):
        remove_addon(theirs)
    assert path.exists()


def test_catalog_vae_and_lora_download_into_the_listing(fake_hub: FakeHub, tmp_path: Path) -> None:
    vae_file = addon_files.vae(tmp_path / "vae.safetensors").read_bytes()
    lora_file = addon_files.kohya_lora(tmp_path / "lora.safetensors", "sd1").read_bytes()
    fake_hub.add_repo("stabilityai/sd-vae-ft-mse-original", {"vae-ft-mse-840000-ema-pruned.safetensors": vae_file})
    fake_hub.add_repo("latent-consistency/lcm-lora-sdv1-5", {"pytorch_lora_weights.safetensors": lora_file})
    for entry in ("sd-vae-ft-mse", "lcm-lora-sdv1-5"):
        install.install(install.parse_target(entry), Registry(), Meter(lambda _p: None), threading.Event())
    (vae,) = find_addons(AddonKind.VAE)
    (lora,) = find_addons(AddonKind.LORA)
    assert (vae.name, lora.name, lora.family) == ("sd-vae-ft-mse", "lcm-lora-sdv1-5", Family.SD1)
    assert resolve_addon(AddonKind.LORA, "lcm-lora-sdv1-5").path.read_bytes() == lora_file
    assert [m.id for m in Registry().installed() if m.kind == "checkpoint"] == []  # not offered as models
    remove_addon(lora)
    assert find_addons(AddonKind.LORA) == []


def test_a_lora_from_a_url_or_a_hub_file_is_listed_as_a_lora(fake_hub: FakeHub, tmp_path: Path) -> None:
    data = addon_files.kohya_lora(tmp_path / "l.safetensors", "sdxl").read_bytes()
    url = fake_hub.add_url("cute-style.safetensors", data)
    fake_hub.add_repo("someone/loras", {"film-grain.safetensors": data})
    for target in (url, "someone/loras"):
        file = "film-grain.safetensors" if target == "someone/loras" else None
        install.install(install.parse_target(target, file=file), Registry(), Meter(lambda _p: None), threading.Event())
    loras = {a.name: a.family for a in find_addons(AddonKind.LORA)}
    assert set(loras.values()) == {Family.SDXL} and len(loras) == 2
    assert "cute-style" in loras
    assert [m.id for m in Registry().installed() if m.kind == "checkpoint"] == []
    assert Registry().default_model_id() is None  # a LoRA never becomes the default model


def test_the_engine_finds_an_embedding_in_a_linked_folder_by_name_own_folder_first(tmp_path: Path) -> None:
    from desktop_sd.models.embeddings import find_embedding

    a1111 = tmp_path / "stable-diffusion-webui"
    addon_files.embedding(a1111 / "embeddings" / "EasyNegative.safetensors")
    addon_files.embedding(a1111 / "embeddings" / "shared.safetensors")
    link(a1111)
    own = paths.models_dir() / "embeddings" / "shared.safetensors"
    addon_files.embedding(own)

    assert find_embedding("easynegative") == a1111 / "embeddings" / "EasyNegative.safetensors"
    assert find_embedding("shared") == own
    assert find_embedding("missing") is None


def test_flux_and_sd3_loras_are_listed_with_their_family_in_every_naming() -> None:
    for naming in addon_files.FLOW_LORA_KEYS:
        addon_files.flow_lora(paths.models_dir() / "loras" / f"{naming}.safetensors", naming)
    loras = {a.name: a.family_label for a in find_addons(AddonKind.LORA)}
    assert loras == {
        "flux-peft": "Flux.1",
        "flux-peft-joint-only": "Flux.1",  # told from SD 3 by FLUX.1's 3072-wide layers
        "flux-kohya": "Flux.1",
        "flux-bfl": "Flux.1",
        "flux-xlabs": "Flux.1",
        "sd3-peft": "SD 3",
        "sd35-large-peft": "SD 3",
        "sd3-sai": "SD 3",
    }
