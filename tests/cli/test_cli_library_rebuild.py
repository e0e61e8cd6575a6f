"""``desktop-sd library rebuild``: the way out the damaged-database message names."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from desktop_sd.cli import main
from desktop_sd.core.errors import LibraryDamagedError
from desktop_sd.library.store import Library
from tests.library.test_damaged_database import _damaged_library


def test_the_command_the_damaged_message_names_rebuilds_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    folder = tmp_path / "library"
    prompts = _damaged_library(folder, count=3)
    with Library.open(folder, reconcile=False) as library, pytest.raises(LibraryDamagedError) as caught:
        library.search("fox")
    program, *arguments = shlex.split(str(caught.value).split("`")[1])
    assert program == "desktop-sd"
    assert main(arguments) == 0
    assert capsys.readouterr().out.strip() == f"Rebuilt the history in {folder} from 3 images."
    with Library.open(folder) as library:
        assert sorted(r.prompt for r in library.search(limit=10)) == sorted(prompts)
