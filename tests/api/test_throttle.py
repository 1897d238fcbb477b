"""Throttling: an address without an app token is limited; an app token gets its own, higher
limit; the 429 says how long to wait."""

from __future__ import annotations

import httpx

from statedata.access.accounts import add_user
from statedata.api.throttle import TokenBuckets
from statedata.catalog.models import AppToken
from statedata.installation import Installation


def _register(installation: Installation, *tokens: str) -> None:
    with installation.catalog.session() as session:
        developer = add_user(session, "app.developer", "analyst")
        for token in tokens:
            session.add(AppToken(token=token, user=developer, name=token))


def test_address_is_throttled_and_a_token_is_not(tmp_path, serve):
    installation = Installation.open(
        tmp_path / "home", throttle_per_minute=3, throttle_per_minute_with_token=100
    )
    _register(installation, "my-app", "other")
    server = serve(installation)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            statuses = [http.get("/api/v1/datasets").status_code for _ in range(5)]
            assert statuses == [200, 200, 200, 429, 429]
            refused = http.get("/api/v1/datasets")
            assert refused.json()["code"] == "request.throttled"
            assert "app token" in refused.json()["message"]
            assert int(refused.headers["Retry-After"]) >= 1
            assert http.get("/api/v1/health").status_code == 200  # never throttled
            with_token = [
                http.get("/api/v1/datasets", headers={"X-App-Token": "my-app"}).status_code
                for _ in range(10)
            ]
            assert with_token == [200] * 10
            assert http.get("/api/v1/datasets", params={"$$app_token": "other"}).status_code == 200
    finally:
        server.stop()
        installation.close()


def test_buckets_refill_over_time(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("statedata.api.throttle.time.monotonic", lambda: clock[0])
    buckets = TokenBuckets()
    assert [buckets.allow("a", 60)[0] for _ in range(60)] == [True] * 60
    allowed, wait = buckets.allow("a", 60)
    assert not allowed and 0 < wait <= 1
    clock[0] += 1.0
    assert buckets.allow("a", 60)[0]
    assert buckets.allow("b", 60)[0]  # another caller has its own bucket


def test_an_unregistered_token_is_throttled_as_its_address(tmp_path, serve):
    installation = Installation.open(
        tmp_path / "home", throttle_per_minute=3, throttle_per_minute_with_token=100
    )
    _register(installation, "known")
    server = serve(installation)
    try:
        with httpx.Client(
            base_url=server.url, headers={"X-App-Token": "made-up"}, timeout=30
        ) as http:
            statuses = [http.get("/api/v1/datasets").status_code for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
            assert "Register an app token" in http.get("/api/v1/datasets").json()["message"]
            known = http.get("/api/v1/datasets", headers={"X-App-Token": "known"})
            assert known.status_code == 200
    finally:
        server.stop()
        installation.close()
