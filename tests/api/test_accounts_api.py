"""Web sign-in over HTTP: the cookie, CSRF on every change, replayed and forged cookies, your
own API keys, and who may manage users."""

from __future__ import annotations

import httpx
import pytest

from statedata.access import passwords
from statedata.access.accounts import add_user

PASSWORD = "correct horse battery staple"


@pytest.fixture
def people(installation, agency):
    with installation.catalog.session() as session:
        for name, role, home_agency in [
            ("chief", "cdo", None),
            ("olivia.officer", "data_officer", agency),
            ("pat.publisher", "publisher", agency),
            ("ann.analyst", "analyst", None),
        ]:
            user = add_user(session, name, role, home_agency)
            passwords.set_password(session, user, PASSWORD)
    return agency


# Signing in checks an argon2 hash (memory-hard on purpose): on a machine busy with other test
# workers httpx's default 5-second timeout is too short for it, so every client here waits 30.


def sign_in(url: str, name: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=30)
    answer = client.post("/api/v1/session", json={"name": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client, answer.json()["csrf_token"]


def test_sign_in_sets_an_httponly_cookie_and_returns_roles(live_server, people):
    client = httpx.Client(base_url=live_server.url, timeout=30)
    answer = client.post("/api/v1/session", json={"name": "olivia.officer", "password": PASSWORD})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    assert "statedata_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    body = answer.json()
    assert body["memberships"] == [{"agency": people, "role": "data_officer"}]
    assert client.get("/api/v1/session").json()["name"] == "olivia.officer"


def test_sign_in_by_form_works_too(live_server, people):
    client = httpx.Client(base_url=live_server.url, timeout=30)
    answer = client.post("/api/v1/session", data={"name": "ann.analyst", "password": PASSWORD})
    assert answer.status_code == 200
    assert client.get("/api/v1/session").json()["roles"] == ["analyst"]


def test_wrong_password_is_401_and_says_nothing_about_the_name(http, people):
    for name in ("olivia.officer", "no.such.person"):
        answer = http.post("/api/v1/session", json={"name": name, "password": "not it at all"})
        assert answer.status_code == 401
        assert answer.json()["message"] == "The user name or password is wrong."


def test_sign_in_from_another_sites_page_is_refused(http, people):
    answer = http.post(
        "/api/v1/session",
        json={"name": "olivia.officer", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


def test_guessing_is_stopped(installation, serve, people):
    installation.settings.sign_in_attempts = 3
    server = serve(installation)
    try:
        client = httpx.Client(base_url=server.url, timeout=30)
        codes = [
            client.post(
                "/api/v1/session", json={"name": "pat.publisher", "password": "guess number x"}
            ).status_code
            for _ in range(4)
        ]
        right = client.post("/api/v1/session", json={"name": "pat.publisher", "password": PASSWORD})
    finally:
        server.stop()
    assert codes == [401, 401, 401, 429]
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0


def test_changes_with_the_cookie_need_the_csrf_token(live_server, people):
    client, csrf = sign_in(live_server.url, "pat.publisher")
    refused = client.post("/api/v1/me/keys", json={"name": "laptop"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf.invalid"
    wrong = client.post("/api/v1/me/keys", json={"name": "laptop"}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    assert client.get("/api/v1/me/keys").json()["results"] == []
    made = client.post("/api/v1/me/keys", json={"name": "laptop"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert made.json()["use_as"].startswith(made.json()["key_id"] + ":")


def test_sign_out_without_csrf_is_refused_and_with_it_ends_the_session(live_server, people):
    client, csrf = sign_in(live_server.url, "pat.publisher")
    cookie = client.cookies["statedata_session"]
    assert client.delete("/api/v1/session").status_code == 403
    assert client.get("/api/v1/session").status_code == 200
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 200
    replay = httpx.Client(
        base_url=live_server.url, cookies={"statedata_session": cookie}, timeout=30
    )
    # A replayed cookie reads as anonymous and cannot change anything.
    assert replay.get("/api/v1/session").status_code == 401
    posted = replay.post("/api/v1/me/keys", json={}, headers={"X-CSRF-Token": csrf})
    assert posted.status_code == 401


def test_a_forged_cookie_changes_nothing(http, people):
    http.cookies.set("statedata_session", "forged-value")
    assert http.get("/api/v1/datasets").status_code == 200
    answer = http.post("/api/v1/me/keys", json={}, headers={"X-CSRF-Token": "forged"})
    assert answer.status_code == 401 and answer.json()["code"] == "authentication.invalid"


def test_your_keys_are_yours(live_server, people):
    pat, pat_csrf = sign_in(live_server.url, "pat.publisher")
    ann, ann_csrf = sign_in(live_server.url, "ann.analyst")
    key = pat.post("/api/v1/me/keys", json={}, headers={"X-CSRF-Token": pat_csrf}).json()
    stolen = ann.delete(f"/api/v1/me/keys/{key['key_id']}", headers={"X-CSRF-Token": ann_csrf})
    assert stolen.status_code == 404
    listed = pat.get("/api/v1/me/keys").json()["results"]
    assert [k["key_id"] for k in listed] == [key["key_id"]] and "secret" not in listed[0]
    gone = pat.delete(f"/api/v1/me/keys/{key['key_id']}", headers={"X-CSRF-Token": pat_csrf})
    assert gone.json()["revoked_at"] is not None
    with_key = httpx.get(
        f"{live_server.url}/api/v1/session", auth=tuple(key["use_as"].split(":")), timeout=30
    )
    assert with_key.status_code == 401


def test_password_change_ends_other_sign_ins(live_server, people):
    first, csrf = sign_in(live_server.url, "ann.analyst")
    second, _ = sign_in(live_server.url, "ann.analyst")
    changed = first.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new long passphrase"},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.json() == {"changed": True, "other_sessions_ended": 1}
    assert first.get("/api/v1/session").status_code == 200
    assert second.get("/api/v1/session").status_code == 401


def test_a_data_officer_manages_publishers_of_their_agency_only(live_server, people):
    officer, csrf = sign_in(live_server.url, "olivia.officer")
    headers = {"X-CSRF-Token": csrf}
    made = officer.post(
        "/api/v1/users",
        json={"name": "new.publisher", "role": "publisher", "agency": people},
        headers=headers,
    )
    assert made.status_code == 201
    assert made.json()["memberships"] == [{"agency": people, "role": "publisher"}]
    cdo = officer.post("/api/v1/users", json={"name": "new.cdo", "role": "cdo"}, headers=headers)
    assert cdo.status_code == 403
    promote = officer.post(
        "/api/v1/users/new.publisher/roles",
        json={"agency": people, "role": "data_officer"},
        headers=headers,
    )
    assert promote.status_code == 403
    assert officer.post("/api/v1/users/new.publisher/disable", headers=headers).status_code == 403


def test_the_cdo_grants_roles_in_several_agencies(installation, live_server, people):
    from statedata.catalog import service

    with installation.catalog.session() as session:
        service.add_agency(session, "DSS", "Department of Social Services")
    chief, csrf = sign_in(live_server.url, "chief")
    answer = chief.post(
        "/api/v1/users/pat.publisher/roles",
        json={"agency": "DSS", "role": "data_officer"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 201
    assert {"agency": "DSS", "role": "data_officer"} in answer.json()["memberships"]
    pat, _ = sign_in(live_server.url, "pat.publisher")
    assert len(pat.get("/api/v1/session").json()["memberships"]) == 2


def test_anonymous_and_analysts_cannot_list_users(live_server, people):
    assert httpx.get(f"{live_server.url}/api/v1/users", timeout=30).status_code == 401
    ann, _ = sign_in(live_server.url, "ann.analyst")
    assert ann.get("/api/v1/users").status_code == 403
