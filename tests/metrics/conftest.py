"""Fixtures the metrics tests share."""

from __future__ import annotations

import pytest

from statedata.metrics import snapshot


@pytest.fixture
def always_whole(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """After any change the catalog is read whole, as when more changed than `_update`
    picks out."""
    monkeypatch.setattr(snapshot, "_UPDATE_AT_MOST", 0.0)
    monkeypatch.setattr(snapshot, "_UPDATE_AT_LEAST", 0)
