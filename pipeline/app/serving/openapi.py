"""The OpenAPI document's errors: each route lists the problems it can answer
(:func:`problems`), as ``application/problem+json``, in place of FastAPI's default 422
(``HTTPValidationError``, a shape this API never answers).

>>> sorted(problems(404, 422))
[404, 422]
>>> problems(422)[422]["model"].__name__
'ValidationProblem'
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from driftline.app.serving.errors import PROBLEM_JSON, Problem, ValidationProblem

__all__ = ["PROBLEM_SCHEMAS", "problems", "typed_openapi"]

#: What each error status means, wherever a route lists it.
MEANING = {
    400: "A body that cannot be read (not UTF-8 text)",
    404: "No such resource (a key without a prediction)",
    413: "Too many keys in one request",
    422: "Malformed request: every problem listed in `problems`",
    503: "Redis (or the stream slots) unavailable: retry later",
}

#: The schemas of problems, whose answers are ``application/problem+json``.
PROBLEM_SCHEMAS = frozenset({Problem.__name__, ValidationProblem.__name__})


def problems(*statuses: int, **meanings: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that answers these error statuses (``meanings``, as
    ``s503="..."``, tell a route's own meaning of a status)."""
    return {
        status: {
            "model": ValidationProblem if status == 422 else Problem,
            "description": meanings.get(f"s{status}", MEANING.get(status, "Error")),
        }
        for status in statuses
    }


def typed_openapi(app: FastAPI) -> dict[str, Any]:
    """``app``'s OpenAPI document with problems under ``application/problem+json``
    (FastAPI puts every model under the route's own media type)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for answer in operation.get("responses", {}).values():
                _as_problem(answer.get("content", {}))
    app.openapi_schema = document
    return document


def _as_problem(content: dict[str, Any]) -> None:
    """Move a problem's schema from the route's media type (``application/json``,
    ``text/event-stream``) to ``application/problem+json``."""
    for media_type, described in list(content.items()):
        schema = described.get("schema", {})
        if schema.get("$ref", "").rsplit("/", 1)[-1] in PROBLEM_SCHEMAS:
            content[PROBLEM_JSON] = content.pop(media_type)
