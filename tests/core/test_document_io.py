"""Project files: what is saved comes back pixel for pixel; damaged files give a clear error."""

from __future__ import annotations

import json
import os
import random
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from desktop_sd.core.document import Document, Rect
from desktop_sd.core.document_io import DocumentError, load_document, save_document
from desktop_sd.core.errors import InputError


def noisy_image(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    """Every pixel different, so a single changed pixel is noticed."""
    rng = random.Random(seed)
    bands = len(mode)
    return Image.frombytes(mode, size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * bands)))


def binary_mask(size: tuple[int, int], seed: int = 1) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("L", size, bytes(rng.choice((0, 255)) for _ in range(size[0] * size[1])))


def assert_same_pixels(a: Image.Image | None, b: Image.Image | None) -> None:
    assert a is not None and b is not None
    assert a.mode == b.mode and a.size == b.size
    assert ImageChops.difference(a, b).getbbox() is None


def full_document() -> Document:
    size = (67, 45)
    return Document(
        size=size,
        image=noisy_image(size),
        mask=binary_mask(size),
        frame=Rect(-16, 8, 96, 64),
        title="Lighthouse — 灯台",
        prompt={"prompt": "a lighthouse at dusk, ünïcödé 🌅", "steps": 4, "cfg_scale": 7.5, "seed": 42},
    )


def test_round_trip_keeps_image_mask_frame_and_settings(tmp_path: Path) -> None:
    doc = full_document()
    path = tmp_path / "scène 灯台" / "project.sdproj"
    path.parent.mkdir()

    save_document(doc, path)
    loaded = load_document(path)

    assert_same_pixels(doc.image, loaded.image)
    assert_same_pixels(doc.mask, loaded.mask)
    assert loaded.frame == doc.frame
    assert loaded.size == doc.size
    assert loaded.title == doc.title
    assert loaded.prompt == doc.prompt


def test_blank_canvas_round_trips_without_image_or_mask(tmp_path: Path) -> None:
    doc = Document(size=(512, 768), frame=Rect(0, 0, 512, 768))
    save_document(doc, tmp_path / "blank.sdproj")

    loaded = load_document(tmp_path / "blank.sdproj")

    assert loaded.image is None and loaded.mask is None
    assert loaded.size == (512, 768) and loaded.frame == Rect(0, 0, 512, 768)


def test_image_without_mask_and_fast_compression_round_trip(tmp_path: Path) -> None:
    doc = Document(size=(40, 30), image=noisy_image((40, 30), seed=5))
    save_document(doc, tmp_path / "a.sdproj", compress_level=0)

    loaded = load_document(tmp_path / "a.sdproj")

    assert_same_pixels(doc.image, loaded.image)
    assert loaded.mask is None and loaded.frame is None


def test_saving_over_an_existing_file_replaces_it_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "p.sdproj"
    save_document(Document(size=(8, 8), image=noisy_image((8, 8), seed=1)), path)
    second = Document(size=(16, 8), image=noisy_image((16, 8), seed=2))
    save_document(second, path)

    assert_same_pixels(second.image, load_document(path).image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.sdproj"]


def test_a_failed_save_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "p.sdproj"
    first = Document(size=(8, 8), image=noisy_image((8, 8), seed=1))
    save_document(first, path)
    before = path.read_bytes()

    mismatched = Document(size=(8, 8), image=noisy_image((9, 8)))
    with pytest.raises(DocumentError, match="9x8"):
        save_document(mismatched, path)

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.sdproj"]


def test_saving_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="does not exist"):
        save_document(full_document(), tmp_path / "nope" / "p.sdproj")


def test_saving_where_a_folder_stands_fails_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "taken.sdproj"
    target.mkdir()
    (target / "keep.txt").write_text("x")

    with pytest.raises(DocumentError, match="Could not save"):
        save_document(full_document(), target)

    assert (target / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.sdproj"]


def test_truncated_file_is_reported_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "p.sdproj"
    save_document(full_document(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(InputError, match="damaged"):
        load_document(path)


def test_flipped_bytes_in_the_image_are_caught(tmp_path: Path) -> None:
    path = tmp_path / "p.sdproj"
    save_document(full_document(), path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("image.png")
    # The image is stored uncompressed: flip bytes in the middle of its data.
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    for i in range(start, start + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(DocumentError, match="damaged"):
        load_document(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "damaged or is not a Desktop SD project"),
        (b"\x89PNG\r\n\x1a\n not really", "damaged or is not a Desktop SD project"),
    ],
)
def test_files_that_are_not_projects(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "p.sdproj"
    path.write_bytes(content)

    with pytest.raises(DocumentError, match=message):
        load_document(path)


def write_archive(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def png(image: Image.Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def meta(**changes: object) -> bytes:
    base: dict[str, object] = {
        "format": "desktop-sd-project",
        "version": 1,
        "size": [8, 8],
        "title": "t",
        "frame": None,
        "prompt": {},
        "image": "image.png",
        "mask": None,
    }
    base.update(changes)
    return json.dumps(base).encode()


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"other.txt": b"hi"}, "has no document.json"),
        ({"document.json": b"{not json"}, "could not be read"),
        ({"document.json": json.dumps({"format": "something-else"}).encode()}, "not a Desktop SD project"),
        ({"document.json": meta(version=99)}, "newer version"),
        ({"document.json": meta(size=[0, 8])}, "canvas size"),
        ({"document.json": meta(size=[100_000, 100_000])}, "canvas size"),
        ({"document.json": meta()}, r"image \(image.png\) is missing"),
        ({"document.json": meta(), "image.png": b"garbage"}, "could not be decoded"),
        ({"document.json": meta(), "image.png": png(Image.new("RGB", (9, 8)))}, "9x8"),
        ({"document.json": meta(frame={"x": 0, "y": 0, "width": "wide", "height": 8})}, "frame is not valid"),
        ({"document.json": meta(frame={"x": 0, "y": 0, "width": 0, "height": 8})}, "frame is empty"),
        ({"document.json": meta(prompt=[1, 2])}, "prompt settings"),
    ],
)
def test_damaged_projects_get_a_message_naming_the_problem(
    tmp_path: Path, members: dict[str, bytes], message: str
) -> None:
    path = tmp_path / "bad.sdproj"
    # Cases about the metadata get a valid image so only the field under test is wrong.
    if "document.json" in members and "image.png" not in members and "is missing" not in message:
        members = {**members, "image.png": png(Image.new("RGB", (8, 8)))}
    write_archive(path, members)

    with pytest.raises(DocumentError, match=message):
        load_document(path)


def test_missing_file_and_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="not found"):
        load_document(tmp_path / "missing.sdproj")
    with pytest.raises(DocumentError, match="is a folder"):
        load_document(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unreadable_file_says_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "p.sdproj"
    save_document(full_document(), path)
    path.chmod(0)
    try:
        with pytest.raises(DocumentError, match="permission denied"):
            load_document(path)
    finally:
        path.chmod(0o644)


def test_non_json_prompt_values_are_kept_as_text(tmp_path: Path) -> None:
    doc = Document(size=(4, 4), prompt={"model": tmp_path / "model.safetensors"})
    save_document(doc, tmp_path / "p.sdproj")

    assert load_document(tmp_path / "p.sdproj").prompt == {"model": str(tmp_path / "model.safetensors")}
