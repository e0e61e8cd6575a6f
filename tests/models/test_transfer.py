"""One-file downloads: resume, rewrite on ignored Range, verification, disk space, locks, cancel, proxies."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import namedtuple
from pathlib import Path

import pytest

from desktop_sd.core.errors import Cancelled, DownloadError
from desktop_sd.models import transfer
from desktop_sd.models.transfer import Expected
from tests.models.fakehub import FakeHub

DATA = os.urandom(300_000)
SHA = hashlib.sha256(DATA).hexdigest()
EXPECTED = Expected(size=len(DATA), sha256=SHA)


class Recorder:
    def __init__(self, on_first: threading.Event | None = None) -> None:
        self.done = 0
        self.on_first = on_first

    def resumed(self, offset: int) -> None:
        self.done += offset

    def received(self, count: int) -> None:
        self.done += count
        if self.on_first is not None:
            self.on_first.set()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".incomplete" in p.name)


def test_download_verifies_and_moves_into_place(fake_hub: FakeHub, tmp_path: Path) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    dest = tmp_path / "model.safetensors"
    sink = Recorder()
    transfer.fetch(url, dest, expected=EXPECTED, sink=sink)
    assert dest.read_bytes() == DATA
    assert sink.done == len(DATA)
    assert leftovers(tmp_path) == []


def test_dropped_connection_is_resumed_with_a_range_request(fake_hub: FakeHub, tmp_path: Path) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    fake_hub.faults.drop_after["model.safetensors"] = 100_000
    dest = tmp_path / "model.safetensors"
    transfer.fetch(url, dest, expected=EXPECTED)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == SHA
    gets = fake_hub.requests("GET", "/files/")
    assert len(gets) == 2
    assert "Range" not in gets[0].headers
    resumed_at = int(gets[1].headers["Range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 100_000


def test_interrupted_download_resumes_after_a_restart(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    fake_hub.faults.drop_after["model.safetensors"] = 120_000
    dest = tmp_path / "model.safetensors"
    monkeypatch.setattr(transfer, "RETRY_DELAYS_S", ())
    with pytest.raises(DownloadError, match="Retry to resume"):
        transfer.fetch(url, dest, expected=EXPECTED)
    assert not dest.exists()
    part = tmp_path / "model.safetensors.incomplete"
    kept = part.stat().st_size
    assert 0 < kept <= 120_000
    # a new process: nothing in memory, only the partial file and its sidecar
    sink = Recorder()
    transfer.fetch(url, dest, expected=EXPECTED, sink=sink)
    assert dest.read_bytes() == DATA
    assert fake_hub.requests("GET", "/files/")[-1].headers["Range"] == f"bytes={kept}-"
    assert sink.done == len(DATA)
    assert leftovers(tmp_path) == []


def test_server_ignoring_range_gets_the_file_rewritten_not_appended(fake_hub: FakeHub, tmp_path: Path) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    fake_hub.faults.drop_after["model.safetensors"] = 150_000
    fake_hub.faults.ignore_range = True
    dest = tmp_path / "model.safetensors"
    sink = Recorder()
    transfer.fetch(url, dest, expected=EXPECTED, sink=sink)
    assert dest.stat().st_size == len(DATA)
    assert dest.read_bytes() == DATA
    assert "Range" in fake_hub.requests("GET", "/files/")[1].headers
    assert sink.done == len(DATA)  # the thrown-away bytes were taken back off the progress


def test_hash_mismatch_discards_the_file(fake_hub: FakeHub, tmp_path: Path) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    fake_hub.faults.wrong_bytes.add("model.safetensors")
    dest = tmp_path / "model.safetensors"
    with pytest.raises(DownloadError, match=r"did not verify.*SHA-256"):
        transfer.fetch(url, dest, expected=EXPECTED)
    assert not dest.exists()
    assert leftovers(tmp_path) == []


def test_git_blob_hash_of_small_hub_files_is_checked(fake_hub: FakeHub, tmp_path: Path) -> None:
    data = b'{"_class_name": "UNet2DConditionModel"}'
    url = fake_hub.add_url("config.json", data)
    dest = tmp_path / "config.json"
    wrong = hashlib.sha1(b"something else").hexdigest()
    with pytest.raises(DownloadError, match="checksum"):
        transfer.fetch(url, dest, expected=Expected(size=len(data), git_sha1=wrong))
    git_sha1 = hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()
    transfer.fetch(url, dest, expected=Expected(size=len(data), git_sha1=git_sha1))
    assert dest.read_bytes() == data


def test_short_body_is_never_moved_into_place_and_a_retry_works(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    fake_hub.faults.short_body["model.safetensors"] = 50_000
    dest = tmp_path / "model.safetensors"
    with pytest.raises(DownloadError, match="stopped after"):
        transfer.fetch(url, dest, expected=EXPECTED)
    assert not dest.exists()
    del fake_hub.faults.short_body["model.safetensors"]
    transfer.fetch(url, dest, expected=EXPECTED)
    assert dest.read_bytes() == DATA


def test_too_little_free_space_is_refused_before_downloading(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10**9, 10**9, 500))
    with pytest.raises(DownloadError, match=r"need 300\.0 KB, have 500 bytes"):
        transfer.fetch(url, tmp_path / "model.safetensors", expected=EXPECTED)
    assert fake_hub.requests("GET") == []


class _FillingFile:
    """A file that raises ENOSPC once more than ``room`` bytes were written."""

    def __init__(self, real: object, room: int) -> None:
        self.real, self.room = real, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.real.write(data)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()  # type: ignore[attr-defined]


def test_disk_filling_midway_removes_the_partial_file_and_nothing_else(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    other = tmp_path / "other-model.safetensors"
    other.write_bytes(b"keep me")

    def filling_open(*args: object, **kwargs: object) -> _FillingFile:
        return _FillingFile(open(*args, **kwargs), 64_000)  # type: ignore[call-overload]

    monkeypatch.setattr(transfer, "open", filling_open, raising=False)
    with pytest.raises(DownloadError, match="disk filled up"):
        transfer.fetch(url, tmp_path / "model.safetensors", expected=EXPECTED)
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "model.safetensors").exists()
    assert other.read_bytes() == b"keep me"


def _hold_lock(lock: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, filelock; lock = filelock.FileLock(sys.argv[1]); lock.acquire(); "
            "print('held', flush=True); sys.stdin.read()",
            str(lock),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_lock_left_by_a_crashed_process_does_not_block(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    dest = tmp_path / "model.safetensors"
    lock = tmp_path / "model.safetensors.lock"
    holder = _hold_lock(lock)
    holder.kill()  # crashes while holding the lock: the lock file stays behind
    holder.communicate(timeout=10)
    assert lock.exists()
    monkeypatch.setattr(transfer, "LOCK_STALL_S", 5.0)
    start = time.monotonic()
    transfer.fetch(url, dest, expected=EXPECTED)
    assert dest.read_bytes() == DATA
    assert time.monotonic() - start < 2.0


def test_lock_held_by_a_stuck_process_is_reported_not_waited_on_forever(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    lock = tmp_path / "model.safetensors.lock"
    holder = _hold_lock(lock)
    try:
        monkeypatch.setattr(transfer, "LOCK_STALL_S", 0.5)
        with pytest.raises(DownloadError, match="no progress"):
            transfer.fetch(url, tmp_path / "model.safetensors", expected=EXPECTED)
    finally:
        holder.communicate("", timeout=10)
    assert fake_hub.requests("GET") == []


def test_two_downloads_of_the_same_file_at_once_give_one_copy(fake_hub: FakeHub, tmp_path: Path) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    gate = threading.Event()
    fake_hub.faults.gate = gate
    dest = tmp_path / "model.safetensors"
    started = threading.Event()
    errors: list[BaseException] = []

    def run(sink: Recorder) -> None:
        try:
            transfer.fetch(url, dest, expected=EXPECTED, sink=sink)
        except BaseException as exc:
            errors.append(exc)

    first = threading.Thread(target=run, args=(Recorder(started),))
    second = threading.Thread(target=run, args=(Recorder(),))
    first.start()
    assert started.wait(10)
    second.start()  # waits on the lock while the first one is mid-body
    gate.set()
    first.join(20)
    second.join(20)
    assert errors == []
    assert dest.read_bytes() == DATA
    assert len(fake_hub.requests("GET", "/files/")) == 1
    assert leftovers(tmp_path) == []


def test_cancel_keeps_the_partial_file_for_a_resume_until_discarded(fake_hub: FakeHub, tmp_path: Path) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    fake_hub.faults.chunk_delay = 0.002
    cancelled = threading.Event()
    dest = tmp_path / "model.safetensors"
    with pytest.raises(Cancelled):
        transfer.fetch(url, dest, expected=EXPECTED, sink=Recorder(cancelled), cancelled=cancelled)
    assert not dest.exists()
    assert leftovers(tmp_path) == ["model.safetensors.incomplete", "model.safetensors.incomplete.json"]
    transfer.discard_partial(dest)
    assert leftovers(tmp_path) == []


def test_proxy_from_the_environment_is_used(fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub.add_url("model.safetensors", DATA)
    monkeypatch.setenv("http_proxy", fake_hub.endpoint)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    dest = tmp_path / "model.safetensors"
    transfer.fetch("http://models.example.invalid/files/model.safetensors", dest, expected=EXPECTED)
    assert dest.read_bytes() == DATA
    assert fake_hub.requests("GET", "/files/")[0].proxied


def test_token_is_not_sent_to_the_redirect_target(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.add_repo("org/model", {"weights.safetensors": DATA})
    url = f"{fake_hub.endpoint}/org/model/resolve/main/weights.safetensors"
    dest = tmp_path / "weights"
    transfer.fetch(url, dest, expected=EXPECTED, private_headers={"Authorization": "Bearer secret"})
    assert dest.read_bytes() == DATA
    resolve, cdn = fake_hub.requests("GET", "/resolve/")[0], fake_hub.requests("GET", "/cdn/")[0]
    assert resolve.headers.get("Authorization") == "Bearer secret"
    assert "Authorization" not in cdn.headers


def test_probe_reads_what_the_hub_declares(fake_hub: FakeHub) -> None:
    fake_hub.add_repo("org/model", {"weights.safetensors": DATA})
    remote = transfer.probe(f"{fake_hub.endpoint}/org/model/resolve/main/weights.safetensors")
    assert (remote.size, remote.sha256, remote.filename) == (len(DATA), SHA, "weights.safetensors")
    assert remote.commit == fake_hub.repos["org/model"].commit


def test_unwritable_destination_is_a_clear_download_error(fake_hub: FakeHub, tmp_path: Path) -> None:
    url = fake_hub.add_url("model.safetensors", DATA)
    not_a_folder = tmp_path / "models"
    not_a_folder.write_text("a file where the models folder should be")
    with pytest.raises(DownloadError, match=r"Could not write model\.safetensors"):
        transfer.fetch(url, not_a_folder / "model.safetensors", expected=EXPECTED)
    assert fake_hub.requests() == []
