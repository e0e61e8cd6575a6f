"""Fixtures for the model manager's tests: a loopback fake Hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.models.fakehub import FakeHub, serve


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A fake Hub on 127.0.0.1, set as ``HF_ENDPOINT``; retries are immediate and proxies unset."""
    yield from serve(monkeypatch)
