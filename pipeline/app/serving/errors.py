"""The API's errors: one JSON shape, ``{"error": <code>, "detail": <one sentence>}``, with
the right status.

An unknown key is 404, a malformed query 422 (with every problem listed), too many keys
413, a service that does not answer 503, an unknown route 404 and a wrong method 405;
anything else is 500, logged here and never sent (no trace leaves the server).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from driftline.core.errors import ServiceUnavailable

__all__ = ["ApiError", "add_error_handlers", "error_response"]

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API answers with ``status`` and ``{"error": code, "detail": ...}``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def error_response(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    """The error body every route answers with, with ``status``.

    >>> error_response(404, "not_found", "no prediction for key 'x'").body
    b'{"error":"not_found","detail":"no prediction for key \\'x\\'"}'
    """
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status)


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.detail)


async def _unavailable(_request: Request, exc: ServiceUnavailable) -> JSONResponse:
    return error_response(503, "unavailable", str(exc))


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [
        {"where": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
    ]
    first = problems[0] if problems else {"where": "request", "problem": "invalid"}
    detail = f"{first['where']}: {first['problem']}"
    return error_response(422, "invalid_request", detail, problems=problems)


async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def _crash(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    return error_response(500, "internal_error", "the server failed on this request (see its log)")


def add_error_handlers(app: FastAPI) -> None:
    """Answer every failure of ``app``'s routes in the one JSON shape."""
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(ServiceUnavailable)(_unavailable)
    app.exception_handler(RequestValidationError)(_invalid)
    app.exception_handler(StarletteHTTPException)(_http)
    app.exception_handler(Exception)(_crash)
