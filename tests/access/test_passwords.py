"""Passwords: argon2id hashes, strength rules, one error for a wrong name or password, and a
limit on guessing."""

from __future__ import annotations

import pytest

from statedata.access import passwords
from statedata.access.accounts import add_user, disable_user
from statedata.access.passwords import SignInLimiter
from statedata.errors import AuthenticationFailed, InvalidInput, RateLimited

GOOD = "correct horse battery staple"


@pytest.fixture
def user(installation, agency):
    with installation.catalog.session() as session:
        user = add_user(session, "ana.lopez", "publisher", agency)
        passwords.set_password(session, user, GOOD)
    return "ana.lopez"


def test_the_hash_is_argon2id_and_not_the_password(installation, user):
    with installation.catalog.session() as session:
        stored = passwords.verify(session, user, GOOD).password_hash
    assert stored.startswith("$argon2id$")
    assert GOOD not in stored


def test_right_password_signs_in_and_names_are_case_blind(installation, user):
    with installation.catalog.session() as session:
        assert passwords.verify(session, "  Ana.Lopez ", GOOD).name == user


@pytest.mark.parametrize("name, password", [("ana.lopez", "wrong password!!"), ("nobody", GOOD)])
def test_wrong_password_and_unknown_user_get_the_same_answer(installation, user, name, password):
    with installation.catalog.session() as session, pytest.raises(AuthenticationFailed) as caught:
        passwords.verify(session, name, password)
    assert caught.value.message == "The user name or password is wrong."


def test_a_user_without_a_password_cannot_sign_in(installation, agency):
    with installation.catalog.session() as session:
        add_user(session, "keys.only", "analyst")
    with installation.catalog.session() as session, pytest.raises(AuthenticationFailed):
        passwords.verify(session, "keys.only", "")


def test_a_disabled_user_cannot_sign_in(installation, user):
    with installation.catalog.session() as session:
        disable_user(session, user)
    with installation.catalog.session() as session, pytest.raises(AuthenticationFailed) as caught:
        passwords.verify(session, user, GOOD)
    assert "disabled" in caught.value.message


@pytest.mark.parametrize(
    "weak, why", [("short one", "at least 12"), ("my name is ana.lopez", "user name")]
)
def test_weak_passwords_are_refused_with_the_reason(installation, user, weak, why):
    with installation.catalog.session() as session:
        target = passwords.verify(session, user, GOOD)
        with pytest.raises(InvalidInput) as caught:
            passwords.set_password(session, target, weak)
    assert why in caught.value.message
    with installation.catalog.session() as session:
        assert passwords.verify(session, user, GOOD)


def test_the_limiter_refuses_after_the_allowed_failures_and_forgets_after_success():
    limiter = SignInLimiter(attempts=3, window_seconds=60)
    for _ in range(2):
        limiter.check("ana")
        limiter.failed("ana")
    limiter.check("ana")
    limiter.failed("ana")
    with pytest.raises(RateLimited) as caught:
        limiter.check("ana")
    assert caught.value.data["retry_after"] >= 1
    limiter.check("someone.else")
    limiter.succeeded("ana")
    limiter.check("ana")


def test_failures_older_than_the_window_do_not_count():
    limiter = SignInLimiter(attempts=1, window_seconds=0.01)
    limiter.failed("ana")
    import time

    time.sleep(0.02)
    limiter.check("ana")
