"""Users and API keys: a key authenticates its user until it is revoked or expires; secrets
are stored only as hashes."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlalchemy import select

from statedata.access import Action, Role, can
from statedata.access.accounts import (
    AuthenticationFailed,
    actor_from_authorization,
    add_user,
    authenticate_key,
    create_key,
    revoke_key,
)
from statedata.catalog import DatasetMetadata, service
from statedata.catalog.models import ApiKey
from statedata.config import DEFAULT_CATEGORIES
from statedata.errors import InvalidInput


@pytest.fixture
def publisher_key(installation, agency) -> tuple[str, str]:
    with installation.catalog.session() as session:
        add_user(session, "pat.publisher", "publisher", agency)
        key, secret = create_key(session, "pat.publisher")
        return key.key_id, secret


def test_key_authenticates_its_user(installation, publisher_key):
    key_id, secret = publisher_key
    with installation.catalog.session() as session:
        actor = authenticate_key(session, key_id, secret)
        assert actor.name == "pat.publisher"
        assert actor.roles == frozenset({Role.PUBLISHER}) and actor.agencies == frozenset({"DPH"})
        stored = session.scalar(select(ApiKey.secret_hash).where(ApiKey.key_id == key_id))
    assert secret not in stored and len(stored) == 64


def test_basic_and_bearer_headers(installation, publisher_key):
    key_id, secret = publisher_key
    basic = "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()
    with installation.catalog.session() as session:
        assert actor_from_authorization(session, basic).name == "pat.publisher"
        assert (
            actor_from_authorization(session, f"Bearer {key_id}:{secret}").name == "pat.publisher"
        )
        assert actor_from_authorization(session, None) is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer nope",
        "Bearer sd_x:y",
        "Digest abc",
        "Basic !!!",
        "Basic " + base64.b64encode(b"only-id").decode(),
    ],
)
def test_bad_credentials_are_refused(installation, publisher_key, header):
    with pytest.raises(AuthenticationFailed), installation.catalog.session() as session:
        actor_from_authorization(session, header)


def test_wrong_secret_revoked_and_expired_keys_fail(installation, publisher_key):
    key_id, secret = publisher_key
    with (
        pytest.raises(AuthenticationFailed, match="wrong"),
        installation.catalog.session() as session,
    ):
        authenticate_key(session, key_id, secret + "x")
    with installation.catalog.session() as session:
        expired, expired_secret = create_key(session, "pat.publisher", expires_in_days=1)
        expired.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        expired_id = expired.key_id
    with (
        pytest.raises(AuthenticationFailed, match="expired"),
        installation.catalog.session() as session,
    ):
        authenticate_key(session, expired_id, expired_secret)
    with installation.catalog.session() as session:
        revoke_key(session, key_id)
    with (
        pytest.raises(AuthenticationFailed, match="revoked"),
        installation.catalog.session() as session,
    ):
        authenticate_key(session, key_id, secret)


def test_publisher_may_publish_only_for_their_agency(installation, publisher_key):
    key_id, secret = publisher_key
    with installation.catalog.session() as session:
        service.add_agency(session, "DOT", "Department of Transportation")
        own = service.create_dataset(
            session,
            DatasetMetadata(title="Own", classification="protected"),
            "DPH",
            DEFAULT_CATEGORIES,
        )
        other = service.create_dataset(
            session, DatasetMetadata(title="Other"), "DOT", DEFAULT_CATEGORIES
        )
        actor = authenticate_key(session, key_id, secret)
        assert can(actor, Action.PUBLISH, own) and can(actor, Action.READ_ROWS, own)
        assert not can(actor, Action.PUBLISH, other)


def test_user_rules(installation, agency):
    with (
        pytest.raises(InvalidInput, match="belongs to an agency"),
        installation.catalog.session() as session,
    ):
        add_user(session, "nobody", "publisher")
    with pytest.raises(InvalidInput, match="not a role"), installation.catalog.session() as session:
        add_user(session, "someone", "wizard", agency)
