"""Keeping a damaged file aside never replaces an earlier copy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop_sd.core.aside import copy_aside, move_aside


def test_copies_kept_in_the_same_second_each_get_their_own_name(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    names = []
    for text in ("one", "two", "three"):
        path.write_text(text, encoding="utf-8")
        names.append(move_aside(path, "damaged", ".db"))
    assert not path.exists()
    assert [p.read_text(encoding="utf-8") for p in names] == ["one", "two", "three"]
    assert all(p.name.startswith("library.damaged-") and p.suffix == ".db" for p in names)


def test_without_hard_links_it_still_never_replaces_a_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_args: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "settings.json"
    for text in ("{one", "{two"):
        path.write_text(text, encoding="utf-8")
        move_aside(path, "corrupt")
    assert sorted(p.read_text(encoding="utf-8") for p in tmp_path.glob("settings.json.corrupt-*")) == ["{one", "{two"]


def test_a_copy_kept_aside_leaves_the_file_in_place_and_never_replaces_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    copies = []
    for text in ("[1", "[2"):
        path.write_text(text, encoding="utf-8")
        copies.append(copy_aside(path, "corrupt"))
    assert path.read_text(encoding="utf-8") == "[2"
    assert [p.read_text(encoding="utf-8") for p in copies] == ["[1", "[2"]
