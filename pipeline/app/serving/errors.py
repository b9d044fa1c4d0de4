"""The API's errors: RFC 9457 problem details (``application/problem+json``), with the
right status.

Every error answers ``{"type", "title", "status", "detail", "instance", "code"}``:
``code`` (an extension member) is the driftline error code clients match on
(:class:`ErrorCode`), ``type`` names it as a URI (``urn:driftline:problem:<code>``),
``instance`` is the path asked. An unknown key is 404, a malformed request 422 (with every
problem listed in ``problems``), a body that cannot be read 400, too many keys 413, a
service that does not answer 503, an unknown route 404 and a wrong method 405; anything
else is 500, logged here and never sent (no trace leaves the server).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from driftline.core.errors import ServiceUnavailable
from driftline.core.jsonsafe import dumps

__all__ = [
    "PROBLEM_JSON",
    "ApiError",
    "ErrorCode",
    "InvalidPart",
    "Problem",
    "ProblemResponse",
    "ValidationProblem",
    "add_error_handlers",
    "problem_response",
]

log = logging.getLogger(__name__)

#: The media type of every error (RFC 9457).
PROBLEM_JSON = "application/problem+json"


class ErrorCode(StrEnum):
    """The API's error codes, the ``code`` member of a problem."""

    NOT_FOUND = "not_found"
    INVALID_REQUEST = "invalid_request"
    TOO_MANY_KEYS = "too_many_keys"
    UNAVAILABLE = "unavailable"
    TOO_MANY_STREAMS = "too_many_streams"
    NO_MODEL = "no_model"
    FEATURES_REFUSED = "features_refused"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    HTTP_ERROR = "http_error"
    INTERNAL_ERROR = "internal_error"

    @property
    def type_uri(self) -> str:
        """The problem's ``type``: ``urn:driftline:problem:<code>``."""
        return f"urn:driftline:problem:{self.value}"


class Problem(BaseModel):
    """An error, as RFC 9457 problem details, plus ``code``."""

    type: str = Field(description="urn:driftline:problem:<code>")
    title: str = Field(description="the status's reason phrase")
    status: int
    detail: str = Field(description="one sentence: what went wrong with this request")
    instance: str = Field(description="the path asked")
    code: ErrorCode = Field(description="the driftline error code (stable; match on it)")


class InvalidPart(BaseModel):
    """One problem of a malformed request: where (``query.count``), and what."""

    where: str
    problem: str


class ValidationProblem(Problem):
    """A malformed request (422): every problem found, the first one in ``detail``."""

    problems: list[InvalidPart]


class ApiError(Exception):
    """An error the API answers with ``status`` as a problem of ``code``; a 422 names
    ``where`` the request is malformed (``query.keys``)."""

    def __init__(
        self, status: int, code: ErrorCode | str, detail: str, where: str = "request"
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = ErrorCode(code)
        self.detail = detail
        self.where = where


class ProblemResponse(JSONResponse):
    """JSON as ``application/problem+json``, without NaN (``null`` instead)."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return dumps(content, default=str).encode()


def problem_response(
    status: int, code: ErrorCode | str, detail: str, instance: str = "", **extra: Any
) -> ProblemResponse:
    """The problem every route answers with, with ``status``.

    >>> answer = problem_response(404, "not_found", "no prediction for key 'x'", "/v1/x")
    >>> answer.media_type, answer.status_code
    ('application/problem+json', 404)
    >>> answer.body.decode()  # doctest: +NORMALIZE_WHITESPACE
    '{"type": "urn:driftline:problem:not_found", "title": "Not Found", "status": 404,
      "detail": "no prediction for key \\'x\\'", "instance": "/v1/x", "code": "not_found"}'
    """
    code = ErrorCode(code)
    body = {
        "type": code.type_uri,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code.value,
        **extra,
    }
    return ProblemResponse(body, status_code=status)


async def _api_error(request: Request, exc: ApiError) -> ProblemResponse:
    extra = {}
    if exc.status == 422:  # a ValidationProblem, as FastAPI's own 422s
        extra["problems"] = [{"where": exc.where, "problem": exc.detail}]
    return problem_response(exc.status, exc.code, exc.detail, request.url.path, **extra)


async def _unavailable(request: Request, exc: ServiceUnavailable) -> ProblemResponse:
    return problem_response(503, ErrorCode.UNAVAILABLE, str(exc), request.url.path)


async def _invalid(request: Request, exc: RequestValidationError) -> ProblemResponse:
    problems = [
        {"where": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
    ]
    first = problems[0] if problems else {"where": "request", "problem": "invalid"}
    detail = f"{first['where']}: {first['problem']}"
    return problem_response(
        422, ErrorCode.INVALID_REQUEST, detail, request.url.path, problems=problems
    )


async def _http(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
    code = {
        400: ErrorCode.INVALID_REQUEST,  # a body that cannot be read (not UTF-8)
        404: ErrorCode.NOT_FOUND,
        405: ErrorCode.METHOD_NOT_ALLOWED,
    }.get(exc.status_code, ErrorCode.HTTP_ERROR)
    answer = problem_response(exc.status_code, code, str(exc.detail), request.url.path)
    answer.headers.update(exc.headers or {})  # 405's Allow
    return answer


async def _crash(request: Request, exc: Exception) -> ProblemResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    return problem_response(
        500,
        ErrorCode.INTERNAL_ERROR,
        "the server failed on this request (see its log)",
        request.url.path,
    )


def add_error_handlers(app: FastAPI) -> None:
    """Answer every failure of ``app``'s routes as a problem."""
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(ServiceUnavailable)(_unavailable)
    app.exception_handler(RequestValidationError)(_invalid)
    app.exception_handler(StarletteHTTPException)(_http)
    app.exception_handler(Exception)(_crash)
