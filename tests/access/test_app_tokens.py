"""Registered app tokens: created and revoked by their user, remembered briefly by the throttle."""

from __future__ import annotations

import pytest

from statedata.access import app_tokens
from statedata.access.accounts import add_user, disable_user
from statedata.access.app_tokens import RegisteredTokens
from statedata.errors import NotFound


@pytest.fixture
def token(installation):
    with installation.catalog.session() as session:
        add_user(session, "dev", "analyst")
        add_user(session, "other", "analyst")
        return app_tokens.create(session, "dev", "Bus tracker").token


def test_a_registered_token_counts_until_revoked(installation, token):
    with installation.catalog.session() as session:
        assert app_tokens.is_registered(session, token)
        assert not app_tokens.is_registered(session, token + "x")
        with pytest.raises(NotFound):
            app_tokens.revoke(session, "other", token)
        app_tokens.revoke(session, "dev", token)
    with installation.catalog.session() as session:
        assert not app_tokens.is_registered(session, token)


def test_a_disabled_users_tokens_stop_counting(installation, token):
    with installation.catalog.session() as session:
        disable_user(session, "dev")
    with installation.catalog.session() as session:
        assert not app_tokens.is_registered(session, token)


def test_the_memory_asks_once_a_minute_per_token():
    asked = []

    def lookup(value: str) -> bool:
        asked.append(value)
        return value == "good"

    known = RegisteredTokens(lookup, seconds=60)
    assert [known("good"), known("good"), known("bad"), known("bad")] == [True, True, False, False]
    assert asked == ["good", "bad"]
    forgetful = RegisteredTokens(lookup, seconds=0)
    forgetful("good")
    forgetful("good")
    assert asked.count("good") == 3
