"""``desktop-sd models ...`` as a user types it: output lines start with the id; failures are one line, non-zero."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_sd.cli import main
from desktop_sd.core.request import Family
from desktop_sd.models.resolve import resolve_model
from tests.models.builders import checkpoint_bytes, make_checkpoint, truncate
from tests.models.fakehub import FakeHub


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    code = main(["models", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_import_list_default_remove(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = cli(capsys, "list")
    assert (code, out) == (0, []) and "No models installed" in err[0]
    make_checkpoint(tmp_path / "Alpha.safetensors")
    make_checkpoint(tmp_path / "Beta.safetensors", Family.SDXL)
    assert cli(capsys, "import", str(tmp_path / "Alpha.safetensors"))[0] == 0
    code, out, _ = cli(capsys, "import", str(tmp_path / "Beta.safetensors"), "--copy")
    assert code == 0 and out[0].startswith("Beta  sdxl")
    code, out, _ = cli(capsys, "list")
    assert [line.split()[0] for line in out] == ["Alpha", "Beta"]
    assert "(default)" in out[0]
    for line in out:  # every id that list prints is accepted by --model (resolve_model)
        assert resolve_model(line.split()[0]).path.exists()
    assert cli(capsys, "default", "Beta")[1] == ["Beta"]
    assert "(default)" in cli(capsys, "list")[1][1]
    code, out, _ = cli(capsys, "remove", "Alpha")
    assert code == 0 and "left in place" in out[0]
    assert (tmp_path / "Alpha.safetensors").exists()
    assert [line.split()[0] for line in cli(capsys, "list")[1]] == ["Beta"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("remove", "nope"), "no installed model 'nope'"),
        (("default", "nope"), "no installed model 'nope'"),
        (("import", "/no/such/file.safetensors"), "does not exist"),
        (("download", "not a model"), "not a catalog model"),
    ],
)
def test_failures_exit_non_zero_with_one_line(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = cli(capsys, *args)
    assert code == 1 and out == []
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_truncated_file_import_fails_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = truncate(make_checkpoint(tmp_path / "cut.safetensors"))
    code, _, err = cli(capsys, "import", str(path))
    assert code == 1 and len(err) == 1 and "corrupt or incomplete" in err[0]


def test_download_from_the_hub_and_offline_switch(capsys: pytest.CaptureFixture[str], fake_hub: FakeHub) -> None:
    fake_hub.add_repo("org/ckpts", {"model.safetensors": checkpoint_bytes(Family.SD2)})
    assert cli(capsys, "offline", "on")[1] == ["on"]
    code, _, err = cli(capsys, "download", "org/ckpts")
    assert code == 1 and "offline" in err[-1]
    assert fake_hub.requests() == []
    assert cli(capsys, "offline", "off")[1] == ["off"]
    code, out, _ = cli(capsys, "download", "org/ckpts", "--file", "model.safetensors")
    assert code == 0 and out[0].startswith("org/ckpts/model.safetensors  installed")
    code, out, _ = cli(capsys, "list")
    assert out[0].split()[:2] == ["org/ckpts/model.safetensors", "sd2"]
    code, _, err = cli(capsys, "download", "org/missing")
    assert code == 1 and "no model 'org/missing'" in err[-1]
    assert cli(capsys, "clean")[:2] == (0, ["freed 0 bytes"])


def test_catalog_lists_what_can_be_downloaded(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "catalog")
    assert code == 0
    assert {"sd15", "sd-turbo", "sdxl-base", "taesd"} <= {line.split()[0] for line in out}


def test_a_lone_flux_file_is_listed_with_what_it_needs_and_not_as_the_catalogs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from desktop_sd.engine.random_flow_models import build_flux_shaped, write_flux_split

    transformer = write_flux_split(build_flux_shaped(seed=1), tmp_path / "split")
    alone = tmp_path / "flux1-dev.safetensors"
    transformer.rename(alone)
    assert cli(capsys, "import", str(alone))[0] == 0
    code, out, err = cli(capsys, "list")
    assert code == 0 and out[0].startswith("flux1-dev") and out[0].endswith("(needs its text encoders and VAE)")
    assert err[-1].startswith("flux1-dev: flux1-dev.safetensors holds a Flux.1 transformer; it needs the CLIP-L")
    code, out, _ = cli(capsys, "catalog")
    assert "installed" not in next(line for line in out if line.startswith("flux1-dev "))  # same id, another file
