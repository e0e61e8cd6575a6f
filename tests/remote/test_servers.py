"""The server list in the settings, tokens in the keyring, offline mode and plain-http warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from keyring.backends import fail

from desktop_sd.core.errors import ServerError
from desktop_sd.core.settings import Settings
from desktop_sd.remote import servers
from tests.memory_keyring import MemoryKeyring


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8188"),
        ("gpu-box:9000", "http://gpu-box:9000"),
        ("https://comfy.example.org/", "https://comfy.example.org"),
        ("http://10.0.0.5:8188/comfy/", "http://10.0.0.5:8188/comfy"),
    ],
)
def test_addresses_become_urls(given: str, url: str) -> None:
    assert servers.normalize_url(given) == url


@pytest.mark.parametrize("given", ["ftp://host", "http://", "http://user:pw@host:8188", "http://host:port"])
def test_bad_addresses_are_refused(given: str) -> None:
    with pytest.raises(ServerError):
        servers.normalize_url(given)


def test_offline_mode_blocks_other_machines_unless_allowed() -> None:
    servers.check_allowed("http://127.0.0.1:8188", offline=True)
    servers.check_allowed("http://localhost:8188", offline=True)
    servers.check_allowed("http://[::1]:8188", offline=True)
    with pytest.raises(ServerError, match="Offline mode is on"):
        servers.check_allowed("http://192.168.1.20:8188", offline=True)
    servers.check_allowed("http://192.168.1.20:8188", offline=True, allow_offline=True)
    servers.check_allowed("http://192.168.1.20:8188", offline=False)


def test_plain_http_to_another_machine_warns_once() -> None:
    warnings = servers.PlainHttpWarnings()
    assert warnings.warning("http://127.0.0.1:8188") is None
    assert warnings.warning("https://gpu.example.org") is None
    assert "unencrypted" in (warnings.warning("http://gpu-box:8188") or "")
    assert warnings.warning("http://gpu-box:8188") is None


def test_servers_live_in_the_settings_and_tokens_only_in_the_keyring(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    settings = Settings.load(tmp_path / "settings.json")
    servers.add_server(settings, "box", "gpu-box", token="tok-123")
    servers.add_server(settings, "attic", "https://attic.example.org")
    settings.save()

    assert "tok-123" not in (tmp_path / "settings.json").read_text()
    loaded = Settings.load(tmp_path / "settings.json")
    assert servers.server_entries(loaded) == [
        servers.ServerEntry("attic", "https://attic.example.org"),
        servers.ServerEntry("box", "http://gpu-box:8188"),
    ]
    assert servers.find_server(loaded, "box").client().token == "tok-123"
    assert servers.find_server(loaded, "http://gpu-box:8188").name == "box"  # a known URL is its entry
    assert servers.find_server(loaded, "other:8188").name == "http://other:8188"  # a URL for this run only

    servers.remove_server(loaded, "box")
    assert [e.name for e in servers.server_entries(loaded)] == ["attic"]
    assert memory_keyring.passwords == {}
    with pytest.raises(ServerError, match=r"No server named 'box'\. Servers: attic"):
        servers.find_server(loaded, "box")


def test_without_a_keyring_a_token_is_refused_not_written_elsewhere(tmp_path: Path) -> None:
    import keyring

    keyring.set_keyring(fail.Keyring())
    settings = Settings.load(tmp_path / "settings.json")
    with pytest.raises(ServerError, match="could not be stored in the system keyring"):
        servers.add_server(settings, "box", "gpu-box", token="tok-123")
    assert settings.servers == {}
    assert servers.load_token("box") is None


@pytest.mark.parametrize("name", ["", "http://box", "gpu/box"])
def test_a_server_name_is_a_short_word(name: str, tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "settings.json")
    with pytest.raises(ServerError, match="short word"):
        servers.add_server(settings, name, "gpu-box")
    assert settings.servers == {}
