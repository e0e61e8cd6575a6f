"""A loopback HTTP server that speaks the Hugging Face Hub's download API, with faults on demand.

It serves what huggingface_hub itself uses (checked against its 2.4 source):

* ``GET /api/models/{repo}/revision/{rev}?blobs=true``: ``sha`` and ``siblings`` with
  ``rfilename``, ``size``, ``blobId`` and, for LFS files, ``lfs: {sha256, size, pointerSize}``;
* ``HEAD``/``GET /{repo}/resolve/{rev}/{file}``: small files directly with ``ETag`` (git blob
  sha1) and ``X-Repo-Commit``; LFS files as a 302 to ``/cdn/<sha256>`` carrying
  ``X-Linked-Etag``, ``X-Linked-Size`` and ``X-Repo-Commit``, as the real Hub redirects to its CDN;
* ``/cdn/<sha256>`` and ``/files/<name>`` (plain URLs) with ``Range`` support.

Faults: drop the connection after N bytes (once), a short body (always), ignore ``Range``,
serve wrong bytes, throttle. Requests are logged. Bound to 127.0.0.1 only; the serving
thread is a daemon and is shut down by ``close()``.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

LFS_THRESHOLD = 1024  # files at least this big are "LFS" files (sha256-addressed), as on the Hub


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


@dataclass
class Repo:
    commit: str
    files: dict[str, bytes]


@dataclass
class Faults:
    drop_after: dict[str, int] = field(default_factory=dict)  # file/url name -> bytes sent before a drop (once)
    short_body: dict[str, int] = field(default_factory=dict)  # always send only this many bytes
    ignore_range: bool = False
    wrong_bytes: set[str] = field(default_factory=set)  # serve different content of the same size
    chunk_delay: float = 0.0  # seconds between 4 KB chunks
    gate: threading.Event | None = None  # hold every body after its first chunk until set
    bare_listing: bool = False  # a mirror that strips blobId and lfs from the file list
    no_etags: bool = False  # ... and ETag / X-Linked-Etag from the file headers


@dataclass
class Logged:
    method: str
    path: str
    headers: dict[str, str]
    proxied: bool


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.urls: dict[str, bytes] = {}
        self.url_headers: dict[str, dict[str, str]] = {}
        self.faults = Faults()
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-hub", daemon=True
        )
        self.thread.start()

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def add_repo(self, repo_id: str, files: dict[str, bytes], commit: str | None = None) -> str:
        commit = commit or hashlib.sha1(repo_id.encode() + str(len(self.repos)).encode()).hexdigest()
        self.repos[repo_id] = Repo(commit, dict(files))
        return commit

    def add_url(self, name: str, data: bytes, headers: dict[str, str] | None = None) -> str:
        self.urls[name] = data
        self.url_headers[name] = headers or {}
        return f"{self.endpoint}/files/{urllib.parse.quote(name)}"

    def requests(self, method: str | None = None, contains: str = "") -> list[Logged]:
        with self._lock:
            return [r for r in self.log if (method is None or r.method == method) and contains in r.path]

    def close(self) -> None:
        if self.faults.gate is not None:
            self.faults.gate.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # ---- lookups used by the handler ---------------------------------------------------

    def blob(self, sha256: str) -> tuple[str, bytes] | None:
        for repo in self.repos.values():
            for name, data in repo.files.items():
                if hashlib.sha256(data).hexdigest() == sha256:
                    return name, data
        return None

    def listing(self, repo_id: str) -> dict[str, object] | None:
        repo = self.repos.get(repo_id)
        if repo is None:
            return None
        siblings = []
        for name, data in repo.files.items():
            sibling: dict[str, object] = {"rfilename": name, "size": len(data)}
            if self.faults.bare_listing:
                siblings.append(sibling)
                continue
            sibling["blobId"] = git_blob_sha1(data)
            if len(data) >= LFS_THRESHOLD:
                sibling["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            siblings.append(sibling)
        return {"id": repo_id, "modelId": repo_id, "sha": repo.commit, "siblings": siblings}


def _handler(hub: FakeHub) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._handle("HEAD")

        def do_GET(self) -> None:
            self._handle("GET")

        def _handle(self, method: str) -> None:
            proxied = self.path.startswith("http://")
            path = urllib.parse.urlsplit(self.path).path if proxied else self.path.split("?", 1)[0]
            with hub._lock:
                hub.log.append(Logged(method, path, dict(self.headers.items()), proxied))
            parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
            try:
                if parts[:2] == ["api", "models"] and "revision" in parts:
                    self._api(parts)
                elif len(parts) >= 5 and parts[2] == "resolve":
                    self._resolve(method, parts)
                elif parts[0] == "cdn" and len(parts) == 2:
                    found = hub.blob(parts[1])
                    if found is None:
                        self._status(404)
                    else:
                        self._body(method, found[0], found[1], {} if hub.faults.no_etags else {"ETag": f'"{parts[1]}"'})
                elif parts[0] == "files" and len(parts) == 2 and parts[1] in hub.urls:
                    self._body(method, parts[1], hub.urls[parts[1]], hub.url_headers[parts[1]])
                else:
                    self._status(404)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _status(self, code: int, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _api(self, parts: list[str]) -> None:
            index = parts.index("revision")
            repo_id = "/".join(parts[2:index])
            listing = hub.listing(repo_id)
            if listing is None:
                self._status(404)
                return
            body = json.dumps(listing).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _resolve(self, method: str, parts: list[str]) -> None:
            repo_id = "/".join(parts[:2])
            filename = "/".join(parts[4:])
            repo = hub.repos.get(repo_id)
            if repo is None or filename not in repo.files or parts[3] not in ("main", repo.commit):
                self._status(404, {"X-Error-Code": "EntryNotFound"})
                return
            data = repo.files[filename]
            common = {"X-Repo-Commit": repo.commit}
            strip = hub.faults.no_etags
            if len(data) >= LFS_THRESHOLD:
                sha = hashlib.sha256(data).hexdigest()
                port = hub.server.server_address[1]
                headers = {
                    **common,
                    "Location": f"http://localhost:{port}/cdn/{sha}",  # another host, like the CDN
                    "ETag": f'"{git_blob_sha1(data)}"',
                    "X-Linked-Etag": f'"{sha}"',
                    "X-Linked-Size": str(len(data)),
                }
                if strip:
                    del headers["ETag"], headers["X-Linked-Etag"]
                self._status(302, headers)
                return
            self._body(method, filename, data, common if strip else {**common, "ETag": f'"{git_blob_sha1(data)}"'})

        def _body(self, method: str, name: str, data: bytes, extra: dict[str, str]) -> None:
            faults = hub.faults
            if name in faults.wrong_bytes:
                data = bytes(b ^ 0xFF for b in data)
            start = 0
            range_header = self.headers.get("Range")
            if range_header and not faults.ignore_range and range_header.startswith("bytes="):
                start = int(range_header[6:].split("-", 1)[0])
                if start >= len(data):
                    self._status(416, {"Content-Range": f"bytes */{len(data)}"})
                    return
            partial = start > 0
            self.send_response(206 if partial else 200)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(data) - start))
            if partial:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if method == "HEAD":
                return
            limit = len(data)
            drop = faults.drop_after.pop(name, None)
            if drop is not None:
                limit = min(limit, start + drop)
            if name in faults.short_body:
                limit = min(limit, faults.short_body[name])
            position, first = start, True
            while position < limit:
                end = min(position + 4096, limit)
                self.wfile.write(data[position:end])
                self.wfile.flush()
                position = end
                if first and faults.gate is not None:
                    faults.gate.wait(10)
                first = False
                if faults.chunk_delay:
                    time.sleep(faults.chunk_delay)
            if limit < len(data):
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True

    return Handler


def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """Run a fake Hub as ``HF_ENDPOINT`` for one test: immediate retries, no proxies, online."""
    from desktop_sd.models import network, transfer

    hub = FakeHub()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(transfer, "RETRY_DELAYS_S", (0.0, 0.0, 0.0))
    network.reset_detected_offline()
    try:
        yield hub
    finally:
        hub.close()
        network.reset_detected_offline()
