"""Start-up reconciling: files added or removed behind the app's back, stray temp files, and speed."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from desktop_sd.library import reconcile as reconcile_module
from desktop_sd.library.store import Library
from tests.library import samples
from tests.library.helpers import make_image, make_request

PAST = time.time() - 3600


def _age(folder: Path) -> None:
    """Make every folder look settled (last changed an hour ago), as after a normal day of use."""
    for current, dirs, _files in os.walk(folder):
        for d in dirs:
            os.utime(Path(current) / d, (PAST, PAST))
    os.utime(folder, (PAST, PAST))


def test_orphans_are_indexed_from_their_metadata(library_dir: Path, tmp_path: Path) -> None:
    with Library.open(library_dir) as library:
        ours = library.add(make_image(), make_request(prompt="kept by metadata"), "my-model")
    other = tmp_path / "other"
    with Library.open(other) as library:
        lost = library.add(make_image(), make_request(prompt="made elsewhere", seed=77), "their-model")
    created = lost.created
    shutil.copy(lost.path, library_dir / ours.path.parent.name / "copied.png")
    samples.png(library_dir / "dropped-in.png", {"parameters": samples.A1111_TEXT})
    (library_dir / "new-folder").mkdir()
    samples.comfy_png(library_dir / "new-folder" / "comfy.png")

    with Library.open(library_dir) as library:
        report = library.last_reconcile
        assert report.indexed == 3 and report.missing == 0
        found = {r.file_name: r for r in library.search()}
        copied = found[f"{ours.path.parent.name}/copied.png"]
        assert (copied.prompt, copied.seed, copied.model, copied.source) == (
            "made elsewhere",
            77,
            "their-model",
            "Desktop SD",
        )
        assert copied.created == created
        assert copied.to_request().parameters() == lost.to_request().parameters()
        assert found["dropped-in.png"].seed == 3141592653
        assert found["new-folder/comfy.png"].source == "ComfyUI"
        assert len(library.search("lighthouse")) == 1


def test_removed_files_are_marked_missing_and_found_again(library_dir: Path, tmp_path: Path) -> None:
    with Library.open(library_dir) as library:
        record = library.add(make_image(), make_request(), "m")
    aside = tmp_path / "aside.png"
    shutil.move(record.path, aside)
    with Library.open(library_dir) as library:
        assert library.last_reconcile.missing == 1
        assert library.get(record.id).missing
    shutil.move(aside, record.path)
    with Library.open(library_dir) as library:
        assert library.last_reconcile.found == 1
        assert not library.get(record.id).missing


def test_a_whole_folder_removed_marks_its_records_missing(library_dir: Path) -> None:
    with Library.open(library_dir) as library:
        records = [library.add(make_image(), make_request(), "m") for _ in range(3)]
    shutil.rmtree(records[0].path.parent)
    with Library.open(library_dir) as library:
        assert library.last_reconcile.missing == 3
        assert all(r.missing for r in library.search())


def test_stray_temp_files_are_removed_and_odd_files_skipped(library_dir: Path) -> None:
    with Library.open(library_dir) as library:
        record = library.add(make_image(), make_request(), "m")
    folder = record.path.parent
    (folder / ".tmp-123456-1-abcdef.png").write_bytes(b"\x89PNG half")
    (folder / "empty.png").write_bytes(b"")
    (folder / b"\xff\xfe.png".decode("utf-8", "surrogateescape")).write_bytes(record.path.read_bytes())
    (folder / "readme.txt").write_text("ignored")
    with Library.open(library_dir) as library:
        report = library.last_reconcile
        assert report.temp_removed == 1 and report.indexed == 0
        reasons = sorted(why for _path, why in report.skipped)
        assert len(reasons) == 2 and "UTF-8" in reasons[1]
        assert [r.id for r in library.search()] == [record.id]
    assert not (folder / ".tmp-123456-1-abcdef.png").exists()


def test_an_unchanged_library_opens_without_listing_or_reading_images(
    library_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Library.open(library_dir) as library:
        for _ in range(6):
            library.add(make_image(), make_request(), "m")
    for day in ("2020-01-01", "2020-01-02"):  # a few more days of images
        (library_dir / day).mkdir()
        for n in range(3):
            samples.png(library_dir / day / f"{n}.png", {"parameters": samples.A1111_TEXT})
    _age(library_dir)
    with Library.open(library_dir) as library:
        assert library.last_reconcile.indexed == 6
    _age(library_dir)
    probes: list[Path] = []
    real_probe = reconcile_module.probe_image
    monkeypatch.setattr(reconcile_module, "probe_image", lambda p, **k: probes.append(p) or real_probe(p, **k))
    with Library.open(library_dir) as library:
        # Only the library's own folder is listed (opening the database touches it); no day folder, no image.
        assert library.last_reconcile.folders_scanned == 1
        assert library.count() == 12 and not any(r.missing for r in library.search())
    assert probes == []
    # One new file: only its folder is listed, and only the new file is read.
    _age(library_dir)
    samples.png(library_dir / "2020-01-02" / "new.png", {"parameters": samples.A1111_TEXT})
    with Library.open(library_dir) as library:
        assert library.last_reconcile.folders_scanned == 2 and library.last_reconcile.indexed == 1
    assert [p.name for p in probes] == ["new.png"]


def test_import_and_reconcile_apply_one_rule_to_damaged_files(library_dir: Path, tmp_path: Path) -> None:
    whole = samples.png(tmp_path / "whole.png", {"parameters": samples.A1111_TEXT})
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(whole.read_bytes()[:-30])  # a copy or download cut short
    jpeg = samples.a1111_jpeg(tmp_path / "cut.jpg")
    cut_jpeg = tmp_path / "cut-short.jpg"
    cut_jpeg.write_bytes(jpeg.read_bytes()[:-40])
    with Library.open(library_dir) as library:
        imported = library.import_files([truncated, cut_jpeg, whole])
    assert [r.prompt[:11] for r in imported.added] == ["masterpiece"]
    import_reasons = sorted((p.name, why) for p, why in imported.skipped)
    shutil.copy(truncated, library_dir / "truncated.png")
    shutil.copy(cut_jpeg, library_dir / "cut-short.jpg")
    with Library.open(library_dir) as library:
        reconcile_reasons = sorted((p.name, why) for p, why in library.last_reconcile.skipped)
        assert library.last_reconcile.indexed == 0
    assert import_reasons == reconcile_reasons
    assert dict(import_reasons)["truncated.png"] == "it is damaged or truncated (the file ends before its image does)"
    assert len(import_reasons) == 2
