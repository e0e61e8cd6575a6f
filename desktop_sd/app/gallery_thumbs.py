"""Gallery thumbnails loaded on a thread pool, newest request first, old ones dropped.

Scrolling fast through 100,000 images asks for thousands of thumbnails that
are off screen before they could be made. Requests go on a bounded stack:
workers take the newest first, and when the stack is full the oldest request
is dropped (the model asks again if that item is painted again). So the work
queued, and the cost of queueing, stay small however fast the user scrolls.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont, QImage, QImageReader, QPainter, QPen

from desktop_sd.library.thumbnails import THUMB_FOLDER, THUMB_SIZE, load_thumbnail

READY, MISSING, BROKEN = range(3)


def pil_to_qimage(image: Image.Image) -> QImage:
    """A deep copy of an RGB Pillow image as a ``QImage`` (safe to build off the GUI thread)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


# Leading bytes of the formats thumbnails are decoded from with Qt; anything else goes to Pillow.
_MAGIC = ((b"\x89PNG\r\n\x1a\n", b"png"), (b"\xff\xd8\xff", b"jpeg"), (b"GIF8", b"gif"), (b"BM", b"bmp"))


def _format_of(data: bytes) -> bytes | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return b"webp"
    return next((name for magic, name in _MAGIC if data.startswith(magic)), None)


def _decode_scaled(data: bytes, size: int) -> QImage:
    """Decode image bytes with Qt, scaled to fit ``size`` (null when Qt cannot read them).

    Files are read with Python (which lets go of its lock while the disk
    works) and decoded from memory, so no Qt call here waits on the disk
    while holding the lock the GUI thread needs; Qt decodes in C++.

    The format is named from the file's first bytes and Qt's own guessing is
    off: guessing asks every image plugin, and the SVG one makes a QObject
    while this thread holds Python's lock. Qt guards QObject connections with
    a small shared pool of mutexes, so that could wait on a mutex the GUI
    thread holds while it, deleting a widget, waits for Python's lock: both
    threads stuck, the window frozen.
    """
    kind = _format_of(data)
    if kind is None:
        return QImage()  # the caller falls back to Pillow
    buffer = QBuffer()
    buffer.setData(data)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, kind)
    reader.setAutoDetectImageFormat(False)
    reader.setAutoTransform(True)
    original = reader.size()
    if original.isValid() and max(original.width(), original.height()) > size:
        reader.setScaledSize(original.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    buffer.close()
    return image if image.isNull() else image.convertToFormat(QImage.Format.Format_RGB32)


def make_thumbnail(source: Path, cache: Path, size: int) -> QImage:
    """The thumbnail of ``source``: from the disk cache when fresh, else made (Qt first, Pillow for the odd
    format Qt cannot read) and cached. Raises ``FileNotFoundError`` or ``OSError``."""
    source_time = source.stat().st_mtime_ns  # FileNotFoundError: the file has gone
    try:
        if cache.stat().st_mtime_ns >= source_time:
            cached = _decode_scaled(cache.read_bytes(), size)
            if not cached.isNull():
                return cached
    except OSError:
        pass  # no cache entry yet
    image = _decode_scaled(source.read_bytes(), THUMB_SIZE)
    if image.isNull():
        image = pil_to_qimage(load_thumbnail(source, cache))
    else:
        _store(image, cache)
    if max(image.width(), image.height()) > size:
        image = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return image


def _store(image: QImage, cache: Path) -> None:
    """Write a cache entry (temp name, then rename); a failure only costs remaking it next time."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    saved = image.save(buffer, "JPG", 85)  # type: ignore[call-overload]  # stubs say bytes; PySide6 takes str only
    buffer.close()
    if not saved:
        return
    temp = cache.with_name(f".{cache.name}.{threading.get_ident()}")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        temp.write_bytes(data.data())
        os.replace(temp, cache)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()


class _Worker(QRunnable):
    """Takes requests off the loader's stack, newest first; parks while idle, leaves after ``IDLE_S``."""

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        loader = self.loader
        while (job := loader._take()) is not None:
            image_id, file_name = job
            source = loader.root / file_name
            cache = loader.root / THUMB_FOLDER / f"{file_name}.jpg"
            try:
                loader.finished.emit(image_id, make_thumbnail(source, cache, loader.size), READY)
            except FileNotFoundError:
                loader.finished.emit(image_id, QImage(), MISSING)
            except Exception:  # damaged or unreadable image: the model shows the broken placeholder
                loader.finished.emit(image_id, QImage(), BROKEN)


def default_threads() -> int:
    """One thumbnail thread per two cores, at most two: the GUI thread must keep a core to itself."""
    return max(1, min(2, (os.cpu_count() or 2) // 2))


class ThumbnailLoader(QObject):
    """Makes thumbnails of files in ``root`` on its own pool; ``finished(id, image, status)`` arrives on
    the GUI thread.

    Workers stay parked on a condition between requests rather than being
    started for each one: queueing a request from the GUI thread is then a
    few Python operations, with no call into Qt.
    """

    finished = Signal(int, QImage, int)
    IDLE_S = 2.0

    def __init__(
        self,
        root: Path,
        size: int,
        threads: int | None = None,
        max_queued: int = 128,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.root = root
        self.size = size
        self.max_queued = max_queued
        self._threads = max(1, threads if threads is not None else default_threads())
        self._stack: deque[tuple[int, str]] = deque()
        self._ready = threading.Condition()
        self._workers = 0
        self._idle = 0
        self._closing = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(self._threads)

    def request(self, image_id: int, file_name: str) -> list[int]:
        """Queue a thumbnail; returns the ids of older requests dropped to make room."""
        dropped: list[int] = []
        with self._ready:
            if self._closing:
                return [image_id]
            self._stack.append((image_id, file_name))
            while len(self._stack) > self.max_queued:
                dropped.append(self._stack.popleft()[0])
            if self._idle:
                self._ready.notify()
                start = False
            else:
                start = self._workers < self._threads
                self._workers += start
        if start:
            self._pool.start(_Worker(self))
        return dropped

    def _take(self) -> tuple[int, str] | None:
        with self._ready:
            while not self._stack and not self._closing:
                self._idle += 1
                woken = self._ready.wait(self.IDLE_S)
                self._idle -= 1
                if not woken and not self._stack:
                    break
            if self._stack and not self._closing:
                return self._stack.pop()
            self._workers -= 1
            return None

    def shutdown(self) -> None:
        """Drop queued requests and wait for the ones being made (call before the app quits)."""
        with self._ready:
            self._closing = True
            self._stack.clear()
            self._ready.notify_all()
        self._pool.waitForDone()


def placeholder(size: int, kind: str) -> QImage:
    """Grey tile shown while loading ("loading"), for a missing file ("missing") or a damaged one ("broken")."""
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(QColor(58, 58, 58))
    if kind == "loading":
        return image
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(200, 90, 90) if kind == "missing" else QColor(200, 160, 60))
        pen.setWidth(max(2, size // 40))
        painter.setPen(pen)
        margin = size // 3
        painter.drawLine(margin, margin, size - margin, size - margin)
        painter.drawLine(size - margin, margin, margin, size - margin)
        font = QFont()
        font.setPixelSize(max(9, size // 10))
        painter.setFont(font)
        painter.setPen(QColor(220, 220, 220))
        label = "missing" if kind == "missing" else "damaged"
        align = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom
        painter.drawText(image.rect().adjusted(0, 0, 0, -size // 12), align, label)
    finally:
        painter.end()
    return image
