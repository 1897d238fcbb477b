"""A cap on the size of request bodies, before any route reads them.

Forms and JSON documents (suggestions, data requests, agreements, metadata) are small; an
oversized one is refused with 413 as soon as its size is known, from `Content-Length` or while
it streams in, so no route ever holds it. SODA writes carry rows and have their own, larger
cap (`soda_max_write_bytes`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from statedata.api.errors import error_body
from statedata.api.responses import JSON

# SODA writes and files published from the staff pages carry rows: the larger cap.
ROWS_PREFIXES = ("/resource/", "/staff/publish")


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, rows_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.rows_max_bytes = rows_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.rows_max_bytes if path.startswith(ROWS_PREFIXES) else self.max_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = JSON(
            error_body(
                "request.too-large",
                f"The request body is larger than the {limit:,} bytes this address takes.",
                max_bytes=limit,
            ),
            status_code=413,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def install(app, max_bytes: int, rows_max_bytes: int) -> None:  # type: ignore[no-untyped-def]
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_bytes, rows_max_bytes=rows_max_bytes)
