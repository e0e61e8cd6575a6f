"""The installers agree with each other and with pyproject.toml: version, names, icon, file types.

Nothing here builds the bundle (minutes, and gigabytes for CUDA); packaging/smoke.sh does.
"""

from __future__ import annotations

import configparser
import plistlib
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

import desktop_sd
from desktop_sd.core import paths

ROOT = Path(__file__).resolve().parents[2]
ISS = ROOT / "installer" / "windows" / "desktop-sd.iss"
DESKTOP = ROOT / "installer" / "linux" / "desktop-sd.desktop"
MIME_XML = ROOT / "installer" / "linux" / "desktop-sd-mime.xml"


def pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def iss_defines() -> dict[str, str]:
    return dict(re.findall(r'^#define (\w+) "([^"]*)"', ISS.read_text(encoding="utf-8"), re.MULTILINE))


def test_one_version_everywhere(cfg: ModuleType) -> None:
    version = pyproject_version()
    assert cfg.project_version() == version
    assert desktop_sd.__version__ == version
    assert iss_defines()["AppVersion"] == version
    plist = cfg.info_plist(cfg.project_version())
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == version


def test_windows_installer_names_match_the_bundle(cfg: ModuleType) -> None:
    defines = iss_defines()
    assert defines["AppName"] == cfg.APP_NAME
    assert defines["ExeName"] == f"{cfg.EXE_NAME}.exe"
    assert defines["CliExeName"] == f"{cfg.CLI_EXE_NAME}.exe"
    assert defines["AppUserModelID"] == cfg.BUNDLE_ID
    # The uninstaller offers to delete the folder the app really writes to.
    assert defines["DataFolder"] == paths.APP_NAME
    text = ISS.read_text(encoding="utf-8")
    assert r'Source: "..\..\dist\desktop-sd\*"' in text
    icon = re.search(r"^SetupIconFile=(.+)$", text, re.MULTILINE)
    assert icon is not None
    assert (ISS.parent / icon.group(1).replace("\\", "/")).is_file()


def test_windows_installer_offers_open_with_for_every_image_type(cfg: ModuleType) -> None:
    text = ISS.read_text(encoding="utf-8")
    with_progid = set(re.findall(r'Software\\Classes\\(\.\w+)\\OpenWithProgids"', text))
    supported = set(re.findall(r'SupportedTypes"; ValueType: string; ValueName: "(\.\w+)"', text))
    extensions = {ext for ext, _, _ in cfg.IMAGE_TYPES}
    assert with_progid == extensions
    assert supported == extensions | {cfg.PROJECT_EXTENSION}
    assert f'Software\\Classes\\{cfg.PROJECT_EXTENSION}"; ValueType: string; ValueName: ""' in text
    # keeps the user's data unless asked: the delete is behind a question that defaults to No
    assert "MB_DEFBUTTON2" in text and "UninstallSilent" in text


def test_macos_info_plist_is_valid_and_declares_document_types(cfg: ModuleType) -> None:
    plist = cfg.info_plist(cfg.project_version())
    data = plistlib.loads(plistlib.dumps(plist))  # serialisable as a real Info.plist
    assert data["CFBundleExecutable"] == cfg.EXE_NAME
    assert data["CFBundleIdentifier"] == cfg.BUNDLE_ID
    assert (cfg.ICON_DIR / data["CFBundleIconFile"]).is_file()
    types = {uti for doc in data["CFBundleDocumentTypes"] for uti in doc["LSItemContentTypes"]}
    assert {"public.png", "public.jpeg", cfg.PROJECT_UTI} <= types
    exported = data["UTExportedTypeDeclarations"][0]
    assert exported["UTTypeTagSpecification"]["public.filename-extension"] == [cfg.PROJECT_EXTENSION.lstrip(".")]


def test_desktop_entry_is_valid_and_matches_the_package(cfg: ModuleType) -> None:
    validator = shutil.which("desktop-file-validate")
    if validator:
        result = subprocess.run([validator, str(DESKTOP)], capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(DESKTOP, encoding="utf-8")
    group = entry["Desktop Entry"]
    assert group["Name"] == cfg.APP_NAME
    assert group["Exec"].split()[0] == cfg.EXE_NAME and "%F" in group["Exec"]
    assert group["Icon"] == cfg.EXE_NAME
    assert group["StartupWMClass"] == cfg.EXE_NAME  # QApplication.setDesktopFileName("desktop-sd")
    mimes = group["MimeType"].rstrip(";").split(";")
    assert "image/png" in mimes
    assert set(mimes) == {m for _, m, _ in cfg.IMAGE_TYPES} | {cfg.PROJECT_MIME}


def test_project_mime_type_matches_the_app(cfg: ModuleType) -> None:
    from desktop_sd.app.file_io import PROJECT_SUFFIX

    assert cfg.PROJECT_EXTENSION == PROJECT_SUFFIX
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = ET.parse(MIME_XML).getroot().find("m:mime-type", ns)
    assert mime is not None and mime.get("type") == cfg.PROJECT_MIME
    glob = mime.find("m:glob", ns)
    assert glob is not None and glob.get("pattern") == f"*{cfg.PROJECT_EXTENSION}"


def test_spec_puts_resources_where_the_frozen_app_looks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = (ROOT / "packaging" / "desktop-sd.spec").read_text(encoding="utf-8")
    assert '(str(ROOT / "resources"), "resources")' in spec
    assert 'collect_data_files("qtawesome")' in spec  # the icon fonts travel with the app
    monkeypatch.setattr("sys._MEIPASS", str(tmp_path), raising=False)
    assert paths.resources_dir() == tmp_path / "resources"


def test_shell_scripts_parse_and_refuse_bad_arguments() -> None:
    scripts = [
        ROOT / "packaging" / "build.sh",
        ROOT / "packaging" / "smoke.sh",
        ROOT / "installer" / "linux" / "build-deb.sh",
        ROOT / "installer" / "macos" / "build-dmg.sh",
    ]
    for script in scripts:
        check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert check.returncode == 0, f"{script.name}: {check.stderr}"
    bad = subprocess.run(["bash", str(scripts[0]), "--variant", "rocm"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "--variant must be cpu or cuda" in bad.stderr
    missing = subprocess.run(
        ["bash", str(scripts[2]), str(ROOT / "no-such-bundle")], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2
    assert "packaging/build.sh" in missing.stderr


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_deb_from_a_stand_in_bundle_has_the_layout_and_dependencies(tmp_path: Path, cfg: ModuleType) -> None:
    bundle = tmp_path / "bundle" / "desktop-sd"
    (bundle / "_internal").mkdir(parents=True)
    exe = bundle / "desktop-sd"
    exe.write_text("#!/bin/sh\necho stand-in\n")
    exe.chmod(0o755)
    (bundle / "_internal" / "lib.so").write_bytes(b"\0" * 1024)
    out = tmp_path / "out"
    env = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
        "OUT_DIR": str(out),
        "STAGE_ROOT": str(tmp_path / "stage"),
        "DEB_COMPRESSION": "gzip",
        "PYTHON": __import__("sys").executable,
    }
    result = subprocess.run(
        ["bash", str(ROOT / "installer" / "linux" / "build-deb.sh"), str(bundle)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    version = pyproject_version()
    deb = out / f"desktop-sd_{version}_amd64.deb"
    assert deb.is_file()
    assert (out / f"desktop-sd-{version}-linux-x86_64-cpu.tar.gz").is_file()

    def field(name: str) -> str:
        return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True).stdout.strip()

    assert field("Package") == "desktop-sd"
    assert field("Version") == version
    assert field("Conflicts") == "desktop-sd-cuda"
    # One glibc version, however ldd's output was read (a second one once broke the control file).
    assert re.fullmatch(r"libc6 \(>= \d+\.\d+\)", field("Depends").split(", ")[0])
    depends = {d.split()[0] for d in field("Depends").split(", ")}
    needed = "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xkb1"
    needed += " libxkbcommon-x11-0 libxcb-shape0 libegl1 libgl1 libfontconfig1 libdbus-1-3"
    assert set(needed.split()) <= depends

    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
    assert re.search(r"^-rwxr-xr-x root/root .* \./opt/desktop-sd/desktop-sd$", listing, re.MULTILINE)
    assert "./usr/bin/desktop-sd -> /opt/desktop-sd/desktop-sd" in listing
    assert "./usr/share/applications/desktop-sd.desktop" in listing
    assert "./usr/share/mime/packages/desktop-sd.xml" in listing
    assert "./usr/share/icons/hicolor/scalable/apps/desktop-sd.svg" in listing
    for size in cfg.ICON_SIZES:
        assert f"./usr/share/icons/hicolor/{size}x{size}/apps/desktop-sd.png" in listing

    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    ran = subprocess.run([str(root / "opt" / "desktop-sd" / "desktop-sd")], capture_output=True, text=True)
    assert ran.stdout.strip() == "stand-in"


def test_macos_script_explains_it_needs_macos() -> None:
    if shutil.which("hdiutil"):
        pytest.skip("this is a Mac")
    script = ROOT / "installer" / "macos" / "build-dmg.sh"
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "needs macOS" in result.stderr
