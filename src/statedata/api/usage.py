"""Counts each successful request that names a dataset: a download, or an API call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from statedata.metrics import UsageCounter

DOWNLOAD_MARKERS = ("/rows.", "/files/")


def install(app: FastAPI, counter: UsageCounter) -> None:
    @app.middleware("http")
    async def count_usage(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        dataset_id = request.scope.get("path_params", {}).get("dataset_id")
        if dataset_id and response.status_code < 400:
            route = getattr(request.scope.get("route"), "path", "")
            kind = "download" if any(m in route for m in DOWNLOAD_MARKERS) else "api_call"
            counter.record(dataset_id, kind)
        return response
