"""The HTTP Basic header the API's clients send with an API key, for tests that call the API as
a key's owner. One helper for every test directory (tests/ is on the path through its conftest)."""

from __future__ import annotations

import base64


def basic_auth(key: str | None) -> dict[str, str]:
    """The Authorization header carrying `key` ("key_id:secret"); no header without a key."""
    if not key:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}
