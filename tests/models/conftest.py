"""Fixtures for the model manager's tests: a loopback fake Hub and quick retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desktop_sd.models import network, transfer
from tests.models.fakehub import FakeHub


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A fake Hub on 127.0.0.1, set as ``HF_ENDPOINT``; retries are immediate and proxies unset."""
    hub = FakeHub()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(transfer, "RETRY_DELAYS_S", (0.0, 0.0, 0.0))
    network.reset_detected_offline()
    yield hub
    hub.close()
    network.reset_detected_offline()
