"""``/v1/predictions``: the latest prediction of one entity key, or of many in one read
(``?keys=`` for a few, ``POST /v1/predictions:batch`` for many: a URL of 1,000 keys of 256
characters exceeds the usual 8 KB limit)."""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from driftline.app.serving.errors import ApiError, ErrorCode
from driftline.app.serving.models import PredictionsFound, PredictionsRequest, StoredPrediction
from driftline.app.serving.openapi import problems
from driftline.read.reader import PredictionsClient

__all__ = ["batch_router", "checked_keys", "router"]

#: An entity key as a query list carries it: printable, no comma, at most 256 characters.
KEY = re.compile(r"[^\x00-\x1f\x7f,]{1,256}")


def router(reader: PredictionsClient, max_keys: int) -> APIRouter:
    """The prediction routes over ``reader``; at most ``max_keys`` keys per request."""
    routes = APIRouter(tags=["predictions"])

    # ``{key:path}``: a key may hold ``/`` (sent as ``%2F``, which the server decodes
    # before routing), so the rest of the path is the key.
    @routes.get(
        "/predictions/{key:path}",
        response_model=StoredPrediction,
        responses=problems(404, 422, 503),
    )
    def prediction(key: Annotated[str, Path(min_length=1, max_length=256)]) -> dict[str, Any]:
        """The latest prediction for one entity key, which may contain ``/`` (404 when it
        has none)."""
        found = reader.get(key)
        if found is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, f"no prediction for key {key!r}")
        return found.to_dict()

    @routes.get("/predictions", response_model=PredictionsFound, responses=problems(413, 422, 503))
    def predictions(
        keys: Annotated[
            str,
            Query(
                min_length=1,
                description=f"entity keys separated by commas (at most {max_keys})",
            ),
        ],
    ) -> dict[str, Any]:
        """The latest predictions of several keys, in one Redis round trip: found ones
        under ``predictions``, the others listed in ``missing``. For many keys, ``POST
        /v1/predictions:batch``."""
        return found_and_missing(reader, checked_keys(keys, max_keys))

    return routes


def batch_router(reader: PredictionsClient, max_keys: int) -> APIRouter:
    """``POST /predictions:batch`` over ``reader``: at most ``max_keys`` keys (more: 413)."""
    routes = APIRouter(tags=["predictions"])

    @routes.post(
        "/predictions:batch",
        response_model=PredictionsFound,
        responses=problems(400, 413, 422, 503),
    )
    def predictions_batch(
        asked: Annotated[
            PredictionsRequest,
            Body(description=f"the entity keys (at most {max_keys})"),
        ],
    ) -> dict[str, Any]:
        """The latest predictions of many keys (at most ``max_keys``), in one Redis round
        trip, as ``GET /v1/predictions?keys=`` answers them; keys may hold commas."""
        if len(asked.keys) > max_keys:
            raise ApiError(413, ErrorCode.TOO_MANY_KEYS, too_many(len(asked.keys), max_keys))
        return found_and_missing(reader, asked.keys)

    return routes


def found_and_missing(reader: PredictionsClient, wanted: Sequence[str]) -> dict[str, Any]:
    """The predictions of ``wanted`` (one read) and the keys without one, each key once."""
    found = reader.get_many(wanted)
    unique = list(dict.fromkeys(wanted))
    return {
        "predictions": {k: found[k].to_dict() for k in unique if k in found},
        "missing": [k for k in unique if k not in found],
    }


def too_many(asked: int, max_keys: int) -> str:
    """The detail of a 413.

    >>> too_many(1001, 1000)
    '1001 keys asked; at most 1000 at once'
    """
    return f"{asked} keys asked; at most {max_keys} at once"


def checked_keys(keys: str, max_keys: int) -> list[str]:
    """The keys of a ``?keys=`` list, refused before Redis is asked: more than
    ``max_keys`` is 413, an empty, too long or unprintable key 422.

    >>> checked_keys("N1,N2,N1", 10)
    ['N1', 'N2', 'N1']
    >>> for asked in ("a,,b", ",".join("k" * 11)):
    ...     try:
    ...         checked_keys(asked, 10)
    ...     except ApiError as exc:
    ...         print(exc.status, exc.code)
    422 invalid_request
    413 too_many_keys
    """
    wanted = keys.split(",")
    if len(wanted) > max_keys:
        raise ApiError(413, ErrorCode.TOO_MANY_KEYS, too_many(len(wanted), max_keys))
    bad = [k for k in wanted if not KEY.fullmatch(k)]
    if bad:
        raise ApiError(
            422,
            ErrorCode.INVALID_REQUEST,
            f"keys: {len(bad)} key(s) empty, too long or with control characters "
            f"(first: {bad[0][:40]!r})",
            where="query.keys",
        )
    return wanted
