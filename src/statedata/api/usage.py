"""Counts each successful request that names a dataset: a download, or an API call."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from statedata.metrics import UsageCounter

DOWNLOAD_MARKERS = ("/rows.", "/files/")


class UsageMiddleware:
    """Plain ASGI middleware (not `@app.middleware`, whose per-request task and streams cost
    about as much as a small query does). The router fills `path_params` and `route` into the
    request's scope, so they are there once the app has answered."""

    def __init__(self, app: ASGIApp, counter: UsageCounter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await self.app(scope, receive, send_status)
        dataset_id = scope.get("path_params", {}).get("dataset_id")
        if dataset_id and status[0] < 400:
            route = getattr(scope.get("route"), "path", "")
            kind = "download" if any(m in route for m in DOWNLOAD_MARKERS) else "api_call"
            self.counter.record(dataset_id, kind)


def install(app: FastAPI, counter: UsageCounter) -> None:
    app.add_middleware(UsageMiddleware, counter=counter)
