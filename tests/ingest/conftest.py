"""Fixtures of the ingest tests: feed tests read from servers on loopback."""

from __future__ import annotations

import pytest

from statedata.ingest.feeds.reach import Reach
from statedata.installation import Installation


@pytest.fixture
def loopback_feeds(installation: Installation) -> Reach:
    """The installation's feeds may read from 127.0.0.1, as an operator allows an internal
    source in `feed_allowed_hosts`; by default feeds may not reach the server's own network."""
    installation.settings.feed_allowed_hosts = ["127.0.0.1"]
    return Reach.of(installation.settings)
