"""Installing from the catalog, a Hub repo or a URL, through the fake Hub: cache layout, faults, offline."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
from pathlib import Path

import pytest

from desktop_sd.core.errors import Cancelled, DownloadError, ModelError
from desktop_sd.core.request import Family, ModelFormat
from desktop_sd.core.settings import Settings
from desktop_sd.models import hfcache, install, network, transfer
from desktop_sd.models.inspection import describe_folder
from desktop_sd.models.progress import Meter, Progress
from desktop_sd.models.registry import Registry
from desktop_sd.models.resolve import resolve_model
from tests.models.builders import checkpoint_bytes, folder_files, taesd_bytes
from tests.models.fakehub import FakeHub


def run(target: str, **kwargs: object) -> tuple[object, list[Progress]]:
    reports: list[Progress] = []
    meter = Meter(reports.append, rate=1000.0)
    model = install.install(
        install.parse_target(target, **kwargs),  # type: ignore[arg-type]
        Registry(),
        meter,
        threading.Event(),
    )
    return model, reports


def leftovers() -> list[Path]:
    return [p for p in hfcache.cache_dir().rglob("*") if ".incomplete" in p.name]


@pytest.fixture
def tiny_repo(fake_hub: FakeHub, tiny_model_dir: Path) -> dict[str, bytes]:
    files = folder_files(tiny_model_dir)
    fake_hub.add_repo("stabilityai/sd-turbo", files)
    return files


def test_catalog_model_lands_in_the_standard_hub_cache(fake_hub: FakeHub, tiny_repo: dict[str, bytes]) -> None:
    model, reports = run("sd-turbo")
    commit = fake_hub.repos["stabilityai/sd-turbo"].commit
    assert model.id == "sd-turbo"  # type: ignore[attr-defined]
    assert model.path == hfcache.cache_dir() / "models--stabilityai--sd-turbo" / "snapshots" / commit  # type: ignore[attr-defined]
    assert (model.path / "unet" / "diffusion_pytorch_model.safetensors").read_bytes() == tiny_repo[  # type: ignore[attr-defined]
        "unet/diffusion_pytorch_model.safetensors"
    ]
    assert reports[-1].done == reports[-1].total == sum(len(v) for v in tiny_repo.values())
    # huggingface_hub itself finds it: other diffusers tools will not download it again
    from huggingface_hub import scan_cache_dir, snapshot_download

    found = snapshot_download("stabilityai/sd-turbo", local_files_only=True, cache_dir=hfcache.cache_dir())
    assert Path(found) == model.path  # type: ignore[attr-defined]
    report = scan_cache_dir(hfcache.cache_dir())
    assert [r.repo_id for r in report.repos] == ["stabilityai/sd-turbo"] and not report.warnings
    ids = [m.id for m in Registry().installed()]
    assert ids == ["sd-turbo"]
    ref = resolve_model("sd-turbo")
    assert ref.format is ModelFormat.DIFFUSERS and ref.path == model.path  # type: ignore[attr-defined]


def test_whole_repo_by_id_prefers_fp16_weights_and_skips_pickles(fake_hub: FakeHub, tiny_model_dir: Path) -> None:
    files = folder_files(tiny_model_dir)
    files["unet/diffusion_pytorch_model.fp16.safetensors"] = files["unet/diffusion_pytorch_model.safetensors"]
    files["unet/diffusion_pytorch_model.bin"] = b"pickle" * 300
    files["safety_checker/model.safetensors"] = b"x" * 2000
    fake_hub.add_repo("org/tiny-sd", files)
    model, _ = run("org/tiny-sd")
    got = {p.relative_to(model.path).as_posix() for p in model.path.rglob("*") if p.is_file()}  # type: ignore[attr-defined]
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in got
    assert "unet/diffusion_pytorch_model.safetensors" not in got
    assert not any(name.endswith(".bin") or name.startswith("safety_checker") for name in got)
    assert model.family == describe_folder(tiny_model_dir)[0]  # type: ignore[attr-defined]


def test_one_file_of_a_repo_is_a_single_file_model_with_offline_configs(fake_hub: FakeHub) -> None:
    fake_hub.add_repo(
        "org/ckpts", {"a.safetensors": checkpoint_bytes(), "b.safetensors": checkpoint_bytes(Family.SDXL)}
    )
    with pytest.raises(DownloadError, match="--file"):
        run("org/ckpts")
    model, _ = run("org/ckpts", file="b.safetensors")
    assert model.id == "org/ckpts/b.safetensors"  # type: ignore[attr-defined]
    ref = resolve_model("org/ckpts/b.safetensors")
    assert ref.format is ModelFormat.SINGLE_FILE and ref.family is Family.SDXL
    assert ref.config_dir is not None and ref.config_dir.name == "sdxl"
    assert [p.name for p in model.path.parent.iterdir()] == ["b.safetensors"]  # type: ignore[attr-defined]


def test_hub_file_url_goes_to_the_hub_cache(fake_hub: FakeHub) -> None:
    fake_hub.add_repo("org/ckpts", {"a.safetensors": checkpoint_bytes()})
    model, _ = run(f"{fake_hub.endpoint}/org/ckpts/resolve/main/a.safetensors")
    assert model.id == "org/ckpts/a.safetensors"  # type: ignore[attr-defined]
    assert hfcache.cache_dir() in model.path.parents  # type: ignore[attr-defined]


def test_files_another_tool_downloaded_are_not_downloaded_again(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub
    from huggingface_hub import constants

    data = checkpoint_bytes()
    fake_hub.add_repo("org/ckpts", {"a.safetensors": data})
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    huggingface_hub.hf_hub_download(
        "org/ckpts", "a.safetensors", cache_dir=hfcache.cache_dir(), endpoint=fake_hub.endpoint
    )
    assert len(fake_hub.requests("GET", "/cdn/")) == 1
    assert [m.id for m in Registry().installed()] == ["org/ckpts/a.safetensors"]  # found as it is
    model, _ = run("org/ckpts", file="a.safetensors")
    assert len(fake_hub.requests("GET", "/cdn/")) == 1  # nothing fetched twice
    assert model.path.read_bytes() == data  # type: ignore[attr-defined]


def test_interrupted_download_is_not_listed_and_resumes_on_retry(
    fake_hub: FakeHub, tiny_repo: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "RETRY_DELAYS_S", ())
    blob = hashlib.sha256(tiny_repo["unet/diffusion_pytorch_model.safetensors"]).hexdigest()
    fake_hub.faults.drop_after["unet/diffusion_pytorch_model.safetensors"] = 20_000
    with pytest.raises(DownloadError, match="Retry to resume"):
        run("sd-turbo")
    assert Registry().installed() == []
    assert hfcache.snapshot_path("stabilityai/sd-turbo") is None
    with pytest.raises(ModelError, match="not installed"):
        resolve_model("sd-turbo")
    model, _ = run("sd-turbo")
    assert fake_hub.requests("GET", f"/cdn/{blob}")[-1].headers["Range"].startswith("bytes=")
    assert [m.id for m in Registry().installed()] == ["sd-turbo"]
    assert hashlib.sha256((model.path / "unet/diffusion_pytorch_model.safetensors").read_bytes()).hexdigest() == blob  # type: ignore[attr-defined]
    assert leftovers() == []


def test_cancelled_download_leaves_nothing_once_discarded(fake_hub: FakeHub, tiny_repo: dict[str, bytes]) -> None:
    fake_hub.faults.chunk_delay = 0.001
    cancelled = threading.Event()
    target = install.parse_target("sd-turbo")
    meter = Meter(lambda p: cancelled.set() if p.done > 30_000 else None, rate=1000.0)
    with pytest.raises(Cancelled):
        install.install(target, Registry(), meter, cancelled)
    install.discard(target)
    assert leftovers() == []
    assert Registry().installed() == []


def test_two_installs_of_the_same_model_at_once_give_one_copy(fake_hub: FakeHub, tiny_repo: dict[str, bytes]) -> None:
    results: list[object] = []

    def worker() -> None:
        try:
            results.append(run("sd-turbo")[0])
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(not isinstance(r, BaseException) for r in results), results
    assert [m.id for m in Registry().installed()] == ["sd-turbo"]
    big = [name for name, data in tiny_repo.items() if len(data) >= 1024]
    assert len(fake_hub.requests("GET", "/cdn/")) == len(big)  # every blob fetched exactly once
    assert leftovers() == []


def test_taesd_entry_is_recorded_as_a_preview_autoencoder(fake_hub: FakeHub) -> None:
    fake_hub.add_repo(
        "madebyollin/taesd",
        {"config.json": b'{"_class_name": "AutoencoderTiny"}', "diffusion_pytorch_model.safetensors": taesd_bytes()},
    )
    model, _ = run("taesd")
    assert model.kind == "taesd"  # type: ignore[attr-defined]
    assert Registry().taesd_path(Family.SD2) == model.path  # type: ignore[attr-defined]
    assert Registry().default_model_id() is None  # it makes no images
    with pytest.raises(ModelError, match="preview"):
        resolve_model("taesd")


def test_offline_mode_makes_no_request_at_all(fake_hub: FakeHub, tiny_repo: dict[str, bytes]) -> None:
    settings = Settings.load()
    settings.offline = True
    settings.save()
    with pytest.raises(DownloadError, match="offline"):
        run("sd-turbo")
    assert fake_hub.requests() == []


def test_installed_model_needs_no_network_even_when_downloaded_again(
    fake_hub: FakeHub, tiny_repo: dict[str, bytes]
) -> None:
    run("sd-turbo")
    count = len(fake_hub.requests())
    settings = Settings.load()
    settings.offline = True
    settings.save()
    model, _ = run("sd-turbo")
    assert model.id == "sd-turbo"  # type: ignore[attr-defined]
    assert len(fake_hub.requests()) == count


def test_unreachable_network_switches_to_offline_without_waiting_again(
    fake_hub: FakeHub, tiny_repo: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    def no_network(*args: object, **kwargs: object) -> socket.socket:
        calls.append(args)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(DownloadError, match="working offline"):
        run("sd-turbo")
    assert network.is_offline()
    with pytest.raises(DownloadError, match="offline"):
        run("sd-turbo")
    assert len(calls) == 1  # the second attempt did not even try
    assert fake_hub.requests() == []


def test_url_download_checks_the_declared_sha256(fake_hub: FakeHub) -> None:
    data = checkpoint_bytes(Family.SD2)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    good = fake_hub.add_url("model.safetensors", data, {"Digest": f"sha-256={digest}"})
    model, _ = run(good)
    assert model.source == "url" and model.family is Family.SD2  # type: ignore[attr-defined]
    assert model.path.read_bytes() == data  # type: ignore[attr-defined]
    bad = fake_hub.add_url("other.safetensors", data, {"Digest": f"sha-256={base64.b64encode(b'x' * 32).decode()}"})
    with pytest.raises(DownloadError, match="did not verify"):
        run(bad)
    assert [m.id for m in Registry().installed()] == ["model"]


def test_truncated_safetensors_from_a_url_is_refused_and_removed(fake_hub: FakeHub) -> None:
    data = checkpoint_bytes()
    url = fake_hub.add_url("cut.safetensors", data[: len(data) - 100])
    with pytest.raises(ModelError, match="corrupt or incomplete"):
        run(url)
    assert Registry().installed() == []
    assert [p.name for p in install.downloads_dir().iterdir()] == [".locks"]


def test_non_safetensors_url_is_refused_before_downloading(fake_hub: FakeHub) -> None:
    url = fake_hub.add_url("model.ckpt", b"pickle" * 100)
    with pytest.raises(DownloadError, match=r"\.safetensors"):
        run(url)
    assert fake_hub.requests("GET") == []


def test_unknown_repo_and_bad_names_give_clear_errors(fake_hub: FakeHub) -> None:
    with pytest.raises(DownloadError, match="no model 'org/missing'"):
        run("org/missing")
    with pytest.raises(DownloadError, match="not a catalog model"):
        install.parse_target("just words")


def test_clean_removes_unfinished_downloads_except_running_ones(
    fake_hub: FakeHub, tiny_repo: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    import filelock

    monkeypatch.setattr(transfer, "RETRY_DELAYS_S", ())
    fake_hub.faults.drop_after["unet/diffusion_pytorch_model.safetensors"] = 20_000
    with pytest.raises(DownloadError):
        run("sd-turbo")
    kept = sum(p.stat().st_size for p in hfcache.cache_dir().rglob("*.incomplete"))
    assert kept > 0
    running = install.downloads_dir() / "running.safetensors.incomplete"
    running.parent.mkdir(parents=True, exist_ok=True)
    running.write_bytes(b"x" * 100)
    lock = filelock.FileLock(str(install.downloads_dir() / ".locks" / "running.safetensors.lock"), thread_local=False)
    with lock:
        assert install.clean_partials() == kept
    assert [p.name for p in hfcache.cache_dir().rglob("*.incomplete")] == []
    assert running.exists()  # another download is writing it
    assert install.clean_partials() == 100


def test_library_environment_is_set_for_offline_and_no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    for name in ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    network.apply_environment(offline=False)
    import os

    assert os.environ["HF_HUB_DISABLE_TELEMETRY"] == "1" and os.environ["DO_NOT_TRACK"] == "1"
    assert "HF_HUB_OFFLINE" not in os.environ
    network.apply_environment(offline=True)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and constants.HF_HUB_OFFLINE is True


def test_a_listing_without_hashes_takes_each_files_etag_from_its_headers(
    fake_hub: FakeHub, tiny_repo: dict[str, bytes]
) -> None:
    fake_hub.faults.bare_listing = True  # a mirror or proxy that strips blobId and lfs
    model, _ = run("sd-turbo")
    blobs = hfcache.repo_folder("stabilityai/sd-turbo") / "blobs"
    assert blobs.is_dir() and len(list(blobs.iterdir())) == len(tiny_repo)  # one blob per file, none overwritten
    for name, data in tiny_repo.items():
        assert (model.path / name).read_bytes() == data, name  # type: ignore[attr-defined]
    assert [m.id for m in Registry().installed()] == ["sd-turbo"]


def test_a_file_with_no_hash_anywhere_is_refused_and_nothing_is_listed(
    fake_hub: FakeHub, tiny_repo: dict[str, bytes]
) -> None:
    fake_hub.faults.bare_listing = fake_hub.faults.no_etags = True
    with pytest.raises(DownloadError, match=r"gives no hash for .* Nothing was saved"):
        run("sd-turbo")
    blobs = hfcache.repo_folder("stabilityai/sd-turbo") / "blobs"
    assert not blobs.exists() or list(blobs.iterdir()) == []
    assert fake_hub.requests("GET", "/cdn/") == [] and fake_hub.requests("GET", "/resolve/") == []
    assert Registry().installed() == []


def test_a_snapshot_left_pointing_at_one_unnamed_blob_is_not_a_model_and_is_fetched_again(
    fake_hub: FakeHub, tiny_repo: dict[str, bytes]
) -> None:
    commit = fake_hub.repos["stabilityai/sd-turbo"].commit
    repo = hfcache.repo_folder("stabilityai/sd-turbo")
    (repo / "blobs").parent.mkdir(parents=True)
    (repo / "blobs").write_bytes(b"the last file written over all the others")
    for name in tiny_repo:
        pointer = repo / "snapshots" / commit / name
        pointer.parent.mkdir(parents=True, exist_ok=True)
        pointer.symlink_to(os.path.relpath(repo / "blobs", pointer.parent))
    hfcache.write_ref("stabilityai/sd-turbo", "main", commit)
    assert Registry().installed() == []  # not listed, so never made the default
    model, _ = run("sd-turbo")
    for name, data in tiny_repo.items():
        assert (model.path / name).read_bytes() == data, name  # type: ignore[attr-defined]
    assert [m.id for m in Registry().installed()] == ["sd-turbo"]
