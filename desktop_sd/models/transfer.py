"""Download one file over HTTP(S): resumable, verified, cancellable, moved into place only when whole.

The rules, each tested:

* Bytes go to ``<dest>.incomplete``; a sidecar ``<dest>.incomplete.json`` records
  what they belong to, so a later attempt (after a dropped connection or a
  restart of the app) resumes with an HTTP ``Range`` request.
* A server that ignores ``Range`` and answers ``200`` gets the file rewritten from
  the start, never appended to.
* A short body (the connection closes before ``Content-Length``) is retried
  from where it stopped; after the retries, the partial file stays for a later resume.
* Size and SHA-256 (or the git blob hash of small Hub files) are checked before
  the file is renamed to ``dest``; a mismatch deletes the partial file.
* Free space is checked before starting ("need X, have Y"); a disk that fills
  midway deletes the partial file.
* A lock file next to ``dest`` stops two processes writing the same file: the
  second waits while the first makes progress and then finds ``dest`` done. A
  lock left by a crashed process is free again (the OS drops ``flock`` locks
  with the process); a holder that stops making progress is reported, not waited on forever.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Protocol

import filelock

import desktop_sd
from desktop_sd.core.errors import Cancelled, DownloadError
from desktop_sd.models import network

CHUNK = 1 << 20
READ_TIMEOUT_S = 30.0
RETRY_DELAYS_S = (1.0, 3.0, 10.0)  # then give up; the partial file stays for a later resume
LOCK_STALL_S = 120.0  # a lock whose holder wrote nothing for this long is reported
DISK_RESERVE = 32 * 1024 * 1024  # never fill the disk to the last byte
USER_AGENT = f"desktop-sd/{desktop_sd.__version__}"


@dataclass(frozen=True)
class Expected:
    """What the source declares about the file; every field given is checked."""

    size: int | None = None
    sha256: str | None = None
    git_sha1: str | None = None  # Hub files kept in git, not LFS: sha1 of b"blob <size>\\0" + data


class ByteSink(Protocol):
    def resumed(self, offset: int) -> None:
        """``offset`` bytes were already on disk (negative: a rewrite threw them away)."""

    def received(self, count: int) -> None: ...


class _NullSink:
    def resumed(self, offset: int) -> None:
        pass

    def received(self, count: int) -> None:
        pass


class _Retryable(Exception):
    pass


def human_size(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


def partial_paths(dest: Path) -> tuple[Path, Path]:
    return dest.with_name(dest.name + ".incomplete"), dest.with_name(dest.name + ".incomplete.json")


def discard_partial(dest: Path) -> None:
    """Remove what an unfinished download of ``dest`` left behind."""
    for path in partial_paths(dest):
        path.unlink(missing_ok=True)


def check_free_space(folder: Path, need: int, what: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    have = shutil.disk_usage(folder).free
    if need + DISK_RESERVE > have:
        raise DownloadError(
            f"Not enough disk space for {what}: need {human_size(need)}, have {human_size(have)} free in {folder}. "
            "Free some space and try again."
        )


def _wait(seconds: float, cancelled: threading.Event) -> None:
    if cancelled.wait(seconds):
        raise Cancelled("Download cancelled.")


@contextlib.contextmanager
def _locked(lock: Path, part: Path, what: str, cancelled: threading.Event) -> Iterator[None]:
    """Hold ``lock``; while another holder makes progress on ``part``, wait for it."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    flock = filelock.FileLock(str(lock), thread_local=False)
    last_size, last_change = -1, time.monotonic()
    while True:
        try:
            flock.acquire(timeout=0.2)
            break
        except filelock.Timeout:
            pass
        if cancelled.is_set():
            raise Cancelled("Download cancelled.")
        try:
            size = part.stat().st_size
        except OSError:
            size = -1
        now = time.monotonic()
        if size != last_size:
            last_size, last_change = size, now
        elif now - last_change > LOCK_STALL_S:
            raise DownloadError(
                f"Another download of {what} holds {lock} but has made no progress for "
                f"{LOCK_STALL_S:.0f} s. Close other Desktop SD windows or tools downloading it, then retry."
            )
    try:
        yield
    finally:
        flock.release()


def fetch(
    url: str,
    dest: Path,
    *,
    expected: Expected = Expected(),
    sink: ByteSink | None = None,
    cancelled: threading.Event | None = None,
    lock: Path | None = None,
    headers: dict[str, str] | None = None,
    private_headers: dict[str, str] | None = None,
    name: str | None = None,
) -> Path:
    """Download ``url`` to ``dest`` (see the module docstring); returns ``dest``.

    ``private_headers`` (a token) go to ``url``'s host only, never to a redirect target.
    Raises ``DownloadError`` or ``Cancelled``; on cancel the partial file stays
    for a resume (``discard_partial`` removes it).
    """
    job = _Fetch(url, dest, expected, sink or _NullSink(), cancelled or threading.Event(), headers, private_headers)
    what = name or dest.name
    part, _ = partial_paths(dest)
    try:
        with _locked(lock or dest.with_name(dest.name + ".lock"), part, what, job.cancelled):
            if dest.is_file() and (expected.size is None or dest.stat().st_size == expected.size):
                job.sink.resumed(dest.stat().st_size)
                return dest  # someone else finished it while we waited
            job.run(what)
    except OSError as exc:  # the folder itself: read-only, removed, permissions
        raise DownloadError(f"Could not write {what} to {dest.parent}: {exc.strerror or exc}.") from None
    return dest


class _Fetch:
    def __init__(
        self,
        url: str,
        dest: Path,
        expected: Expected,
        sink: ByteSink,
        cancelled: threading.Event,
        headers: dict[str, str] | None,
        private_headers: dict[str, str] | None,
    ) -> None:
        self.url, self.dest, self.expected, self.sink, self.cancelled = url, dest, expected, sink, cancelled
        self.headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
        self.private_headers = private_headers or {}
        self.part, self.meta = partial_paths(dest)
        self.size = expected.size
        self.validator: str | None = None
        self.credited = 0

    # ---- the partial file ------------------------------------------------------------

    def _resume_offset(self) -> int:
        """Bytes already downloaded that belong to this same file, else 0 (and the leftovers go)."""
        try:
            meta = json.loads(self.meta.read_text(encoding="utf-8"))
            offset = self.part.stat().st_size
        except (OSError, ValueError):
            discard_partial(self.dest)
            return 0
        same = (meta.get("url"), meta.get("size"), meta.get("sha256")) == (self.url, self.size, self.expected.sha256)
        if not same or (self.size is not None and offset > self.size):
            discard_partial(self.dest)
            return 0
        self.validator = meta.get("validator")
        return offset

    def _write_meta(self) -> None:
        data = {"url": self.url, "size": self.size, "sha256": self.expected.sha256, "validator": self.validator}
        self.meta.write_text(json.dumps(data), encoding="utf-8")

    def _credit(self, offset: int) -> None:
        self.sink.resumed(offset - self.credited)
        self.credited = offset

    # ---- the transfer ----------------------------------------------------------------

    def run(self, what: str) -> None:
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        offset = self._resume_offset()
        self._credit(offset)
        if self.size is not None:
            check_free_space(self.dest.parent, self.size - offset, what)
        delays = iter(RETRY_DELAYS_S)
        while True:
            if self.cancelled.is_set():
                raise Cancelled("Download cancelled.")
            try:
                self._attempt(what)
                break
            except _Retryable as exc:
                delay = next(delays, None)
                if delay is None:
                    done = self.part.stat().st_size if self.part.exists() else 0
                    total = f" of {human_size(self.size)}" if self.size else ""
                    raise DownloadError(
                        f"The download of {what} stopped after {human_size(done)}{total} ({exc}). "
                        "Retry to resume where it stopped."
                    ) from None
                _wait(delay, self.cancelled)
        self._verify(what)
        os.replace(self.part, self.dest)
        self.meta.unlink(missing_ok=True)

    def _request(self, offset: int) -> urllib.request.Request:
        request = urllib.request.Request(self.url, headers=dict(self.headers))
        for key, value in self.private_headers.items():
            request.add_unredirected_header(key, value)
        if offset > 0:
            request.add_header("Range", f"bytes={offset}-")
            if self.validator and not self.validator.startswith("W/"):
                request.add_header("If-Range", self.validator)
        return request

    def _attempt(self, what: str) -> None:
        offset = self.part.stat().st_size if self.part.exists() else 0
        try:
            response = network.opener().open(self._request(offset), timeout=READ_TIMEOUT_S)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416 and offset and offset == self.size:
                return  # already whole: verify it
            if exc.code == 416:
                discard_partial(self.dest)
                self._credit(0)
                raise _Retryable("the server refused to resume") from None
            if exc.code in (408, 429) or exc.code >= 500:
                raise _Retryable(f"HTTP {exc.code}") from None
            raise DownloadError(_http_error_message(exc.code, what, self.url)) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise _Retryable(_reason(exc)) from None
        with response:
            status = response.status
            start = 0
            if status == 206:
                start = _content_range_start(response.headers)
            if start != offset:
                if start != 0:  # a range we did not ask for: start over with a plain request
                    discard_partial(self.dest)
                    self._credit(0)
                    raise _Retryable("the server sent an unexpected byte range")
                offset = 0  # 200: the server ignored Range, so the file is rewritten from the start
            total = _declared_total(response.headers, status)
            if self.size is None and total is not None:
                self.size = total
            self.validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
            if offset == 0:
                self.part.write_bytes(b"")
                self._credit(0)
                if self.size is not None:
                    check_free_space(self.dest.parent, self.size, what)
            self._write_meta()
            self._stream(response, offset, what)

    def _stream(self, response: http.client.HTTPResponse, offset: int, what: str) -> None:
        received = 0
        try:
            with open(self.part, "ab") as fh:
                while True:
                    if self.cancelled.is_set():
                        raise Cancelled("Download cancelled.")
                    try:
                        chunk = response.read1(CHUNK)
                    except (OSError, http.client.HTTPException) as exc:
                        raise _Retryable(_reason(exc)) from None
                    if not chunk:
                        break
                    try:
                        fh.write(chunk)
                    except OSError as exc:
                        self._disk_error(exc, what)
                    received += len(chunk)
                    self.credited += len(chunk)
                    self.sink.received(len(chunk))
                try:
                    fh.flush()
                    os.fsync(fh.fileno())
                except OSError as exc:
                    self._disk_error(exc, what)
        finally:
            response.close()
        if self.size is not None and offset + received < self.size:
            raise _Retryable(f"the connection closed after {human_size(offset + received)}")

    def _disk_error(self, exc: OSError, what: str) -> None:
        discard_partial(self.dest)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DownloadError(
                f"The disk filled up while downloading {what}; the partial file was removed. "
                f"It needs {human_size(self.size or 0)}: free some space and try again."
            ) from None
        raise DownloadError(f"Could not write {self.part}: {exc.strerror or exc}.") from None

    def _verify(self, what: str) -> None:
        actual = self.part.stat().st_size
        problem = None
        if self.size is not None and actual != self.size:
            problem = f"it is {actual} bytes, the source declares {self.size}"
        elif self.expected.sha256 or self.expected.git_sha1:
            sha256, sha1 = hashlib.sha256(), hashlib.sha1()
            if self.expected.git_sha1:
                sha1.update(f"blob {actual}\0".encode())
            with open(self.part, "rb") as fh:
                while block := fh.read(CHUNK):
                    if self.cancelled.is_set():
                        raise Cancelled("Download cancelled.")
                    if self.expected.sha256:
                        sha256.update(block)
                    if self.expected.git_sha1:
                        sha1.update(block)
            if self.expected.sha256 and sha256.hexdigest() != self.expected.sha256.lower():
                problem = "its SHA-256 does not match the one the source declares"
            elif self.expected.git_sha1 and sha1.hexdigest() != self.expected.git_sha1.lower():
                problem = "its checksum does not match the one the source declares"
        if problem:
            discard_partial(self.dest)
            raise DownloadError(
                f"The download of {what} did not verify ({problem}); it was discarded. "
                "Try again; if it keeps failing, the source may be changing or damaged."
            )


def _content_range_start(headers: Message) -> int:
    value = headers.get("Content-Range", "")
    try:
        unit, _, rest = value.partition(" ")
        return int(rest.split("-", 1)[0]) if unit == "bytes" else -1
    except ValueError:
        return -1


def _declared_total(headers: Message, status: int) -> int | None:
    if status == 206:
        total = headers.get("Content-Range", "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc.reason, str):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, socket.timeout | TimeoutError):
        return "the server stopped answering"
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed early"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _http_error_message(code: int, what: str, url: str) -> str:
    host = urllib.parse.urlsplit(url).hostname
    if code in (401, 403):
        return (
            f"{host} refused access to {what} (HTTP {code}). The model may be gated or private: "
            "accept its licence on its web page and save a Hugging Face token (HF_TOKEN), then retry."
        )
    if code == 404:
        return f"{what} was not found at {host} (HTTP 404). Check the name or address."
    return f"{host} answered HTTP {code} for {what}. Try again later."


@dataclass(frozen=True)
class RemoteFile:
    """What a server declares about a file before we fetch it."""

    url: str  # after redirects
    size: int | None
    sha256: str | None
    filename: str | None
    commit: str | None  # X-Repo-Commit, when the server is a Hugging Face Hub
    etag: str | None = None  # the first hop's X-Linked-Etag or ETag, unquoted: a Hub file's blob name


def probe(url: str, headers: dict[str, str] | None = None, max_redirects: int = 5) -> RemoteFile:
    """HEAD ``url``, following redirects by hand: the Hub puts ``X-Linked-*`` on the first hop only."""
    opener = network.opener(_NoRedirect())
    hops: list[Message] = []
    current = url
    for _ in range(max_redirects + 1):
        request = urllib.request.Request(
            current, method="HEAD", headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
        )
        try:
            response = opener.open(request, timeout=READ_TIMEOUT_S)
            hop, code = response.headers, response.status
            response.close()
        except urllib.error.HTTPError as exc:
            hop, code = exc.headers, exc.code
            exc.close()
            if code not in (301, 302, 303, 307, 308):
                raise DownloadError(_http_error_message(code, _url_name(url) or url, url)) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"Could not reach {urllib.parse.urlsplit(current).hostname}: {_reason(exc)}.") from None
        hops.append(hop)
        if code in (301, 302, 303, 307, 308) and hop.get("Location"):
            current = urllib.parse.urljoin(current, hop["Location"])
            continue
        return _describe(url, current, hops)
    raise DownloadError(f"Too many redirects for {url}.")


def _first(hops: list[Message], key: str) -> str | None:
    for hop in hops:
        if hop.get(key):
            return hop[key]
    return None


def _describe(url: str, final_url: str, hops: list[Message]) -> RemoteFile:
    final = hops[-1]
    linked_size = _first(hops, "X-Linked-Size")
    length = final.get("Content-Length")
    size = int(linked_size) if linked_size and linked_size.isdigit() else None
    if size is None and length and length.isdigit():
        size = int(length)
    sha256 = None
    for candidate in (_first(hops, "X-Linked-Etag"), final.get("ETag"), final.get("X-Checksum-Sha256")):
        value = (candidate or "").removeprefix("W/").strip('"').lower()
        if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
            sha256 = value
            break
    if sha256 is None:
        sha256 = _digest_header(final.get("Repr-Digest") or final.get("Digest") or "")
    disposition = Message()
    disposition["Content-Disposition"] = _first(hops, "Content-Disposition") or ""
    filename = disposition.get_filename() or _url_name(url)
    etag = (hops[0].get("X-Linked-Etag") or hops[0].get("ETag") or "").removeprefix("W/").strip('"').lower()
    return RemoteFile(final_url, size, sha256, filename, _first(hops, "X-Repo-Commit"), etag or None)


def _digest_header(value: str) -> str | None:
    """``sha-256=<base64>`` (RFC 3230) or ``sha-256=:<base64>:`` (RFC 9530) as hex."""
    import base64
    import binascii

    for item in value.split(","):
        key, _, encoded = item.strip().partition("=")
        if key.strip().lower() == "sha-256":
            try:
                return base64.b64decode(encoded.strip().strip(":")).hex()
            except (binascii.Error, ValueError):
                return None
    return None


def _url_name(url: str) -> str | None:
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    return name or None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None
