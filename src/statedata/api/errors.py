"""Every error the API returns is JSON with a stable `code` and a plain `message`; a bad
request is a 4xx, never a 500. This is the one place errors are mapped to HTTP.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from statedata.api.responses import JSON
from statedata.errors import StatedataError, from_validation

log = logging.getLogger("statedata.api")


def error_body(code: str, message: str, **data: object) -> dict:
    body: dict[str, object] = {"code": code, "error": True, "message": message}
    if data:
        body["data"] = data
    return body


def install(app: FastAPI) -> None:
    @app.exception_handler(StatedataError)
    async def _statedata(_: Request, error: StatedataError) -> JSON:
        response = JSON(error_body(error.code, error.message, **error.data), error.status)
        if error.status == 429 and "retry_after" in error.data:
            response.headers["Retry-After"] = str(error.data["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, error: RequestValidationError) -> JSON:
        problem = from_validation(error)
        return JSON(error_body("request.invalid", problem.message), 400)

    @app.exception_handler(ValidationError)
    async def _validation(_: Request, error: ValidationError) -> JSON:
        problem = from_validation(error)
        return JSON(error_body(problem.code, problem.message), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSON:
        if error.status_code == 404:
            return JSON(error_body("not-found", "There is nothing at this address."), 404)
        if error.status_code == 405:
            return JSON(
                error_body("method.not-allowed", "This address does not accept that method."),
                405,
            )
        return JSON(error_body("http.error", str(error.detail)), error.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSON:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSON(
            error_body("server.error", "Something went wrong on our side; it has been logged."),
            500,
        )
