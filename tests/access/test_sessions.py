"""Web sessions: kept on the server, so sign-out, expiry and idleness end them everywhere."""

from __future__ import annotations

import datetime as dt

import pytest

from statedata.access import sessions
from statedata.access.accounts import add_user, get_user
from statedata.catalog.models import WebSession
from statedata.errors import AuthenticationFailed, CsrfFailed


@pytest.fixture
def started(installation, agency):
    with installation.catalog.session() as session:
        user = add_user(session, "ana.lopez", "data_officer", agency)
        token, signed_in = sessions.start(session, user, hours=12)
    return token, signed_in


def test_a_session_resumes_with_the_users_roles(installation, agency, started):
    token, signed_in = started
    with installation.catalog.session() as session:
        again = sessions.resume(session, token, idle_minutes=60)
    assert again.session_id == signed_in.session_id
    assert again.actor.name == "ana.lopez"
    assert again.actor.has_role_in(agency)


def test_only_the_tokens_hash_is_stored(installation, started):
    token, signed_in = started
    with installation.catalog.session() as session:
        stored = session.get(WebSession, signed_in.session_id)
        assert stored.token_hash != token and token not in stored.token_hash


def test_a_forged_token_matches_nothing(installation, started):
    with installation.catalog.session() as session, pytest.raises(AuthenticationFailed):
        sessions.resume(session, "forged-" + started[0][7:], idle_minutes=60)


def test_after_sign_out_the_same_cookie_is_refused(installation, started):
    token, signed_in = started
    with installation.catalog.session() as session:
        sessions.end(session, signed_in.session_id, "ana.lopez")
    with installation.catalog.session() as session, pytest.raises(AuthenticationFailed) as caught:
        sessions.resume(session, token, idle_minutes=60)
    assert "signed out" in caught.value.message


def _age(installation, session_id, **delta):
    with installation.catalog.session() as session:
        stored = session.get(WebSession, session_id)
        if "expires" in delta:
            stored.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        else:
            stored.last_seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=delta["idle"])


def test_an_expired_session_is_refused(installation, started):
    token, signed_in = started
    _age(installation, signed_in.session_id, expires=True)
    with installation.catalog.session() as session, pytest.raises(AuthenticationFailed) as caught:
        sessions.resume(session, token, idle_minutes=60)
    assert "expired" in caught.value.message


def test_an_idle_session_ends(installation, started):
    token, signed_in = started
    _age(installation, signed_in.session_id, idle=61)
    with installation.catalog.session() as session, pytest.raises(AuthenticationFailed) as caught:
        sessions.resume(session, token, idle_minutes=60)
    assert "without use" in caught.value.message


def test_end_all_keeps_only_the_session_asked_for(installation, started):
    token, signed_in = started
    with installation.catalog.session() as session:
        user = get_user(session, "ana.lopez")
        other_token, _ = sessions.start(session, user, hours=1)
        assert sessions.end_all(session, user, "ana.lopez", keep=signed_in.session_id) == 1
    with installation.catalog.session() as session:
        sessions.resume(session, token, idle_minutes=60)
        with pytest.raises(AuthenticationFailed):
            sessions.resume(session, other_token, idle_minutes=60)


def test_csrf_token_must_match(started):
    _, signed_in = started
    sessions.check_csrf(signed_in, signed_in.csrf_token)
    for wrong in (None, "", signed_in.csrf_token[:-1] + "x"):
        with pytest.raises(CsrfFailed):
            sessions.check_csrf(signed_in, wrong)
