"""Throttling of API calls: callers without an app token are limited per address, callers with
one (the `X-App-Token` header, any case, or `$$app_token`) per token, at a higher rate.

Token buckets in memory, one per caller; the limits are settings. Nothing is stored.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from statedata.access.app_tokens import RegisteredTokens
from statedata.api.errors import error_body
from statedata.api.responses import JSON

THROTTLED_PREFIXES = ("/resource/", "/api/")
UNTHROTTLED = ("/api/v1/health",)


class TokenBuckets:
    """`allow(key, per_minute)` says whether a call may go ahead, and if not, when it may."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()
        self._last_prune = time.monotonic()

    def allow(self, key: str, per_minute: int) -> tuple[bool, float]:
        now = time.monotonic()
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            if now - self._last_prune > 60:
                self._prune(now, rate)
        return allowed, 0.0 if allowed else (1.0 - tokens) / rate

    def _prune(self, now: float, rate: float) -> None:
        # A bucket idle for ten minutes is full again; forgetting it changes nothing.
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}
        self._last_prune = now


def app_token(request: Request) -> str | None:
    return request.headers.get("x-app-token") or request.query_params.get("$$app_token")


def caller(request: Request, registered_token: bool) -> tuple[str, bool]:
    """The caller's bucket key, and whether they identified themselves. An app token counts
    only when it is registered here; an unknown one is throttled as its address."""
    token = app_token(request)
    if token and registered_token:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32], True
    authorization = request.headers.get("authorization")
    if authorization:
        return "key:" + hashlib.sha256(authorization.encode()).hexdigest()[:32], True
    host = request.client.host if request.client else "unknown"
    return "address:" + host, False


class ThrottleMiddleware:
    """Plain ASGI middleware (not `@app.middleware`, whose per-request task and streams cost
    about as much as a small query does)."""

    def __init__(
        self,
        app: ASGIApp,
        anonymous_per_minute: int,
        identified_per_minute: int,
        tokens: RegisteredTokens,
    ):
        self.app = app
        self.anonymous_per_minute = anonymous_per_minute
        self.identified_per_minute = identified_per_minute
        self.buckets = TokenBuckets()
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        if not path.startswith(THROTTLED_PREFIXES) or path.startswith(UNTHROTTLED):
            await self.app(scope, receive, send)
            return
        token = app_token(request)
        registered = False
        if token:
            known = self.tokens.cached(token)
            # The catalog is asked at most once a minute a token, off the event loop.
            registered = known if known is not None else await run_in_threadpool(self.tokens, token)
        key, identified = caller(request, registered)
        limit = self.identified_per_minute if identified else self.anonymous_per_minute
        allowed, wait = self.buckets.allow(key, limit)
        if allowed:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        advice = (
            ""
            if identified
            else " Register an app token (POST /api/v1/me/app-tokens) and send it in the "
            "X-App-Token header for a higher limit."
        )
        message = (
            f"Too many requests: the limit is {limit} a minute. Try again in {seconds} s.{advice}"
        )
        response = JSON(
            error_body("request.throttled", message, limit_per_minute=limit),
            status_code=429,
            headers={"Retry-After": str(seconds)},
        )
        await response(scope, receive, send)


def install(
    app: FastAPI, anonymous_per_minute: int, identified_per_minute: int, tokens: RegisteredTokens
) -> None:
    app.add_middleware(
        ThrottleMiddleware,
        anonymous_per_minute=anonymous_per_minute,
        identified_per_minute=identified_per_minute,
        tokens=tokens,
    )
