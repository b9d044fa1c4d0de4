"""``/predictions``: the latest prediction of one entity key, or of many in one read."""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from driftline.app.serving.errors import ApiError
from driftline.read.reader import PredictionsClient

__all__ = ["router"]

#: An entity key as a query list carries it: printable, no comma, at most 256 characters.
KEY = re.compile(r"[^\x00-\x1f\x7f,]{1,256}")


def router(reader: PredictionsClient, max_keys: int) -> APIRouter:
    """The prediction routes over ``reader``; at most ``max_keys`` keys per request."""
    routes = APIRouter(tags=["predictions"])

    # ``{key:path}``: a key may hold ``/`` (sent as ``%2F``, which the server decodes
    # before routing), so the rest of the path is the key.
    @routes.get("/predictions/{key:path}")
    def prediction(key: Annotated[str, Path(min_length=1, max_length=256)]) -> dict[str, Any]:
        """The latest prediction for one entity key, which may contain ``/`` (404 when it
        has none)."""
        found = reader.get(key)
        if found is None:
            raise ApiError(404, "not_found", f"no prediction for key {key!r}")
        return found.to_dict()

    @routes.get("/predictions")
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
        under ``predictions``, the others listed in ``missing``."""
        wanted = checked_keys(keys, max_keys)
        found = reader.get_many(wanted)
        unique = list(dict.fromkeys(wanted))
        return {
            "predictions": {k: found[k].to_dict() for k in unique if k in found},
            "missing": [k for k in unique if k not in found],
        }

    return routes


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
        raise ApiError(
            413, "too_many_keys", f"{len(wanted)} keys asked; at most {max_keys} at once"
        )
    bad = [k for k in wanted if not KEY.fullmatch(k)]
    if bad:
        raise ApiError(
            422,
            "invalid_request",
            f"keys: {len(bad)} key(s) empty, too long or with control characters "
            f"(first: {bad[0][:40]!r})",
        )
    return wanted
