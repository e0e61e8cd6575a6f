"""The history store as its users see it: save, find, mark, delete, export, import."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from desktop_sd.core import paths
from desktop_sd.core.errors import LibraryError
from desktop_sd.core.request import Borders, Mode
from desktop_sd.library.image_files import default_trash
from desktop_sd.library.metadata import read_parameters
from desktop_sd.library.records import Filters, LibraryEvent, LibraryEventKind
from desktop_sd.library.store import Library
from tests.library import samples
from tests.library.helpers import FolderTrash, make_image, make_request


def test_add_saves_a_png_with_metadata_and_a_record(library: Library) -> None:
    request = make_request(mode=Mode.OUTPAINT, outpaint=Borders(8, 0, 8, 0), strength=0.9)
    record = library.add(make_image(size=(80, 64)), request, "tiny-sd")
    assert record.path.is_file() and record.path.parent.parent == library.folder
    with Image.open(record.path) as image:
        assert image.size == (80, 64) and image.getpixel((0, 0)) == (200, 30, 30)
    assert (record.width, record.height, record.mode, record.source) == (80, 64, Mode.OUTPAINT, "Desktop SD")
    assert record.to_request().parameters() == request.parameters()
    parsed = read_parameters(record.path)
    assert parsed is not None and parsed.to_request().parameters() == request.parameters()
    assert library.get(record.id) == record
    assert not list(record.path.parent.glob(".tmp-*"))


def test_parent_link_and_listeners(library: Library) -> None:
    events: list[LibraryEvent] = []
    library.add_listener(events.append)
    parent = library.add(make_image(), make_request(), "tiny-sd")
    child = library.add(make_image(), make_request(mode=Mode.IMG2IMG, strength=0.4), "tiny-sd", parent_id=parent.id)
    assert child.parent_id == parent.id and child.strength == 0.4
    added = LibraryEventKind.ADDED
    assert events == [LibraryEvent(added, (parent.id,)), LibraryEvent(added, (child.id,))]
    library.delete([parent.id])
    assert library.get(child.id).parent_id is None


def test_search_prompts_newest_first_and_filters(library: Library) -> None:
    fox = library.add(make_image(), make_request(prompt="a red fox"), "model-a")
    cat = library.add(make_image(size=(64, 96)), make_request(prompt="a black cat", seed=99), "model-b")
    owl = library.add(make_image(), make_request(prompt="an owl at night", mode=Mode.IMG2IMG, strength=0.5), "model-a")
    assert [r.id for r in library.search()] == [owl.id, cat.id, fox.id]
    assert [r.id for r in library.search("fox")] == [fox.id]
    assert [r.id for r in library.search("FO")] == [fox.id]  # prefix, any case
    assert [r.id for r in library.search("99")] == [cat.id]  # seeds are searchable
    assert [r.id for r in library.search("blurry")] == [owl.id, cat.id, fox.id]  # negative prompt
    assert library.search("giraffe") == []
    assert [r.id for r in library.search("img2img")] == [owl.id]  # mode and sampler are words too
    assert len(library.search("euler")) == 3
    assert [r.id for r in library.search("", Filters(model="model-a"))] == [owl.id, fox.id]
    assert [r.id for r in library.search("", Filters(mode=Mode.IMG2IMG))] == [owl.id]
    assert [r.id for r in library.search("", Filters(size=(64, 96)))] == [cat.id]
    assert [r.id for r in library.query(Filters(model="model-a"), offset=1, limit=5)] == [fox.id]
    assert library.count("a") == 3 and library.count("", Filters(model="model-b")) == 1
    assert library.models() == ["model-a", "model-b"]
    assert library.sizes() == [(64, 64), (64, 96)]


def test_search_text_with_fts_syntax_is_taken_literally(library: Library) -> None:
    library.add(make_image(), make_request(prompt='(masterpiece:1.2) "quoted" AND OR NOT*'), "m")
    for text in ['"', "AND", "NOT*", "(masterpiece:1.2)", "col:umn", "*", "NEAR(", "'"]:
        library.search(text)  # never an SQL or FTS syntax error
    assert len(library.search("masterpiece 1.2")) == 1
    assert library.count("*") == 1  # no words: no text condition


def test_date_range_filter(library: Library) -> None:
    record = library.add(make_image(), make_request(), "m")
    now = datetime.now()
    assert library.search("", Filters(date_from=now - timedelta(minutes=5))) == [record]
    assert library.search("", Filters(date_to=now - timedelta(minutes=5))) == []
    assert library.search("", Filters(date_from=now + timedelta(minutes=5))) == []


def test_keyset_pages_cover_everything_once(library: Library) -> None:
    ids = [library.add(make_image(), make_request(seed=i), "m").id for i in range(7)]
    pages: list[int] = []
    before = None
    while page := library.page_ids("", None, before, limit=3):
        pages += page
        before = page[-1]
    assert pages == sorted(ids, reverse=True)
    assert library.page_ids("fox", None, ids[3], limit=10) == sorted(ids[:3], reverse=True)


def test_favourite_rating_tags(library: Library) -> None:
    a = library.add(make_image(), make_request(), "m")
    b = library.add(make_image(), make_request(), "m")
    events: list[LibraryEvent] = []
    library.add_listener(events.append)
    library.set_favourite([a.id, b.id])
    library.set_favourite(b.id, False)
    library.set_rating(a.id, 4)
    library.set_tags(a.id, ["Portrait ", "portrait", "best, of", ""])
    got = library.get(a.id)
    assert got.favourite and got.rating == 4 and got.tags == ("Portrait", "best of")
    assert not library.get(b.id).favourite
    assert [r.id for r in library.search("", Filters(favourite=True))] == [a.id]
    assert [r.id for r in library.search("", Filters(tag="best of"))] == [a.id]
    assert [r.id for r in library.search("portrait")] == [a.id]
    assert [r.id for r in library.search("", Filters(min_rating=3))] == [a.id]
    assert events[0] == LibraryEvent(LibraryEventKind.CHANGED, (a.id, b.id))
    with pytest.raises(LibraryError, match="0 to 5"):
        library.set_rating(a.id, 6)


def test_delete_moves_files_to_the_trash_and_drops_records(library: Library, trash: FolderTrash) -> None:
    keep = library.add(make_image(), make_request(), "m")
    gone = [library.add(make_image(), make_request(), "m") for _ in range(2)]
    thumb = library.thumbnail_path(gone[0])
    thumb.parent.mkdir(parents=True, exist_ok=True)
    thumb.write_bytes(b"x")
    removed = library.delete([r.id for r in gone] + [9999])
    assert set(removed) == {r.id for r in gone}
    assert trash.trashed == [r.path for r in gone]
    assert all(not r.path.exists() for r in gone) and not thumb.exists()
    assert [r.id for r in library.search()] == [keep.id]
    assert library.search("fox") == [keep]  # the full-text index forgot them too


def test_delete_keeps_the_record_of_a_file_that_cannot_be_removed(library: Library, library_dir: Path) -> None:
    record = library.add(make_image(), make_request(), "m")

    def refuse(path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    stubborn = Library.open(library_dir, trash=refuse)
    try:
        with pytest.raises(LibraryError, match="Could not delete"):
            stubborn.delete([record.id])
        assert stubborn.get(record.id) is not None and record.path.exists()
    finally:
        stubborn.close()


def test_delete_of_a_missing_file_just_drops_the_record(library: Library, trash: FolderTrash) -> None:
    record = library.add(make_image(), make_request(), "m")
    record.path.unlink()
    assert library.delete([record.id]) == (record.id,)
    assert trash.trashed == [] and library.get(record.id) is None


def test_default_trash_uses_send2trash_then_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import send2trash

    calls: list[Path] = []
    monkeypatch.setattr(send2trash, "send2trash", lambda p: calls.append(Path(p)))
    target = tmp_path / "a.png"
    target.write_bytes(b"x")
    default_trash(target)
    assert calls == [target] and target.exists()  # the (fake) trash took it; nothing removed by us

    def no_trash(path: object) -> None:
        raise OSError("no trash on this volume")

    monkeypatch.setattr(send2trash, "send2trash", no_trash)
    default_trash(target)
    assert not target.exists()


def test_export_copies_files_with_metadata(library: Library, tmp_path: Path) -> None:
    a = library.add(make_image(), make_request(prompt="first"), "m")
    b = library.add(make_image(), make_request(prompt="second"), "m")
    missing = library.add(make_image(), make_request(), "m")
    missing.path.unlink()
    out = tmp_path / "export"
    report = library.export([a.id, b.id, missing.id], out)
    assert len(report.exported) == 2 and report.skipped == ((missing.path, "the file is missing"),)
    assert {read_parameters(p).prompt for p in report.exported} == {"first", "second"}
    again = library.export([a.id], out)
    assert again.exported[0] != report.exported[0] and again.exported[0].exists()  # no overwrite


def test_import_files_and_folders_from_other_tools(library: Library, tmp_path: Path) -> None:
    source = tmp_path / "elsewhere"
    (source / "nested").mkdir(parents=True)
    samples.png(source / "a1111.png", {"parameters": samples.A1111_TEXT})
    samples.comfy_png(source / "nested" / "comfy.png")
    samples.a1111_jpeg(source / "photo.jpg")
    Image.new("RGB", (20, 20)).save(source / "plain.webp")
    (source / "broken.png").write_bytes(samples.png(tmp_path / "t.png", {}).read_bytes()[:-20])
    (source / "notes.txt").write_text("not an image")
    (source / ".hidden").mkdir()
    Image.new("RGB", (4, 4)).save(source / ".hidden" / "skip.png")

    report = library.import_files([source])
    by_source = sorted((r.source, r.prompt[:20]) for r in report.added)
    assert by_source == [
        ("", ""),
        ("AUTOMATIC1111", "masterpiece, a light"),
        ("AUTOMATIC1111", "masterpiece, a light"),
        ("ComfyUI", "beautiful scenery, g"),
    ]
    assert [(p.name, "damaged" in why) for p, why in report.skipped] == [("broken.png", True)]
    comfy = next(r for r in report.added if r.source == "ComfyUI")
    assert comfy.seed == 156680208700286 and comfy.width == 48 and comfy.path.parent.parent == library.folder
    assert comfy.to_request().scheduler == "dpmpp_2m_karras"
    assert len(library.search("lighthouse")) == 2
    assert (source / "a1111.png").exists()  # imports copy, never move


def test_import_explicit_non_image_and_bomb(library: Library, tmp_path: Path) -> None:
    text = tmp_path / "x.png"
    text.write_text("hello")
    bomb = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000)).save(bomb)
    report = library.import_files([text, bomb, tmp_path / "absent.png"])
    assert report.added == ()
    reasons = dict((p.name, why) for p, why in report.skipped)
    assert "not an image" in reasons["x.png"]
    assert "larger than" in reasons["bomb.png"]
    assert "not a file" in reasons["absent.png"]


def test_importing_the_library_itself_is_refused(library: Library) -> None:
    record = library.add(make_image(), make_request(), "m")
    report = library.import_files([library.folder, record.path])
    assert report.added == () and [why for _p, why in report.skipped] == ["it is already in the library"] * 2
    assert library.count() == 1


def test_huge_seeds_from_other_tools_are_kept_exactly(library: Library, tmp_path: Path) -> None:
    graph = json.loads(json.dumps(samples.COMFY_PROMPT))
    graph["3"]["inputs"]["seed"] = 2**64 - 1
    report = library.import_files([samples.comfy_png(tmp_path / "c.png", graph)])
    record = report.added[0]
    assert record.seed == 2**64 - 1 and str(2**64 - 1) in record.parameters["raw"]
    assert [r.id for r in library.search(str(2**64 - 1))] == [record.id]


def test_closed_library_says_so(library_dir: Path) -> None:
    lib = Library.open(library_dir)
    lib.close()
    lib.close()
    with pytest.raises(LibraryError, match="closed"):
        lib.search()


def test_wal_and_full_sync(library: Library) -> None:
    assert library.records.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert library.records.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    other = sqlite3.connect(library.records.db_path)
    assert other.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    other.close()


def test_the_default_library_lives_in_the_user_data_folder(isolated_home: Path) -> None:
    with Library.open() as library:
        assert library.folder == paths.default_library_dir()
        assert library.folder.is_relative_to(isolated_home)


def test_re_pointing_to_an_existing_library(library: Library, tmp_path: Path) -> None:
    other_folder = tmp_path / "other-library"
    with Library.open(other_folder) as other:
        theirs = other.add(make_image(), make_request(prompt="from the other library"), "m")
    shutil.copytree(other_folder, tmp_path / "copy")
    with Library.open(tmp_path / "copy") as copy:
        found = copy.search("other")
        assert [r.id for r in found] == [theirs.id] and found[0].path.is_file()
        assert found[0].path.is_relative_to(tmp_path / "copy")


def test_seeds_up_to_2_64_round_trip_and_are_found_by_search(library: Library) -> None:
    seeds = (0, 2**63 - 1, 2**63, 6952411511246973023, 2**64 - 1)
    for seed in seeds:
        library.add(make_image(), make_request(seed=seed), "m")
    assert sorted(record.seed for record in library.search()) == sorted(seeds)
    for seed in seeds[1:]:
        (found,) = library.search(str(seed))
        assert found.seed == seed
        assert found.to_request().seed == seed


def test_utf8_prompts_and_huge_text_chunks_import_and_are_found(library: Library, tmp_path: Path) -> None:
    text = "café in Zürich\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512"
    small = samples.png_with_chunk_before_pixels(tmp_path / "u.png", b"tEXt", b"parameters\0" + text.encode("utf-8"))
    workflow = json.dumps([{"widgets_values": ["y" * 300]} for _ in range(6000)])
    chunk = samples.compressed_itxt("workflow", workflow)
    big = samples.png_with_chunk_before_pixels(tmp_path / "w.png", b"iTXt", chunk)
    report = library.import_files([small, big])
    assert report.skipped == () and len(report.added) == 2
    assert [r.path.name for r in library.search("café")] == [report.added[0].path.name]
    assert len(library.search("Zürich")) == 1


def test_a_text_chunk_past_the_cap_is_named_as_the_reason(library: Library, tmp_path: Path) -> None:
    chunk = samples.compressed_itxt("workflow", "z" * (33 * 1024 * 1024))  # a few KB on disk
    bomb = samples.png_with_chunk_before_pixels(tmp_path / "bomb.png", b"iTXt", chunk)
    report = library.import_files([bomb])
    assert report.added == ()
    assert report.skipped == ((bomb, "a text chunk in it expands past 32 MB, more than Desktop SD reads"),)


def test_importing_the_same_files_again_adds_nothing(library: Library, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    samples.png(source / "a.png", {"parameters": samples.A1111_TEXT})
    samples.comfy_png(source / "c.png")
    shutil.copy(source / "a.png", source / "a-copy.png")  # the same content under another name
    seen: list[tuple[int, int]] = []
    first = library.import_files([source], on_file=lambda done, total: seen.append((done, total)))
    assert len(first.added) == 2 and len(first.already) == 1
    assert first.already[0].name in ("a.png", "a-copy.png")
    assert seen == [(1, 3), (2, 3), (3, 3)]
    again = library.import_files([source])
    assert again.added == () and sorted(p.name for p in again.already) == ["a-copy.png", "a.png", "c.png"]
    assert len(library.search()) == 2


def test_images_saved_or_found_in_the_folder_are_recognised_on_import(library: Library, tmp_path: Path) -> None:
    made = library.add(make_image(), make_request(), "m")  # hashed as it is saved
    outside = tmp_path / "copy.png"
    shutil.copy(made.path, outside)
    dropped = library.folder / "dropped.png"
    samples.png(dropped, {"parameters": samples.A1111_TEXT})
    library.reconcile()  # indexed from the folder, hash not known yet
    twin = tmp_path / "twin.png"
    shutil.copy(dropped, twin)
    report = library.import_files([outside, twin])
    assert report.added == () and [p.name for p in report.already] == ["copy.png", "twin.png"]
