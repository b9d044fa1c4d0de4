"""``/v1/quality``: data quality in four dimensions, and the quality log."""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
from typing import Annotated, Any

from fastapi import APIRouter, Query

from driftline.app.serving.models import Quality
from driftline.app.serving.openapi import problems
from driftline.read.reader import PredictionsClient

__all__ = ["router"]


def router(reader: PredictionsClient) -> APIRouter:
    """The data quality route over ``reader``."""
    routes = APIRouter(tags=["metrics"])

    @routes.get(
        "/quality",
        response_model=Quality,
        response_model_exclude_unset=True,
        responses=problems(422, 503),
    )
    def quality(
        log: Annotated[int, Query(ge=0, le=10_000)] = 50,
        after: Annotated[str | None, Query(pattern=r"^\d+(-\d+)?$")] = None,
    ) -> dict[str, Any]:
        """Data quality in four dimensions (the totals of ``driftline quality``) and the
        quality log: the newest ``log`` findings, or those after the stream id ``after``."""
        total = reader.metrics()["total"]
        return {
            "quality": total.get("quality"),
            "watermark_lag_s": total.get("watermark_lag_s"),
            "log": reader.quality_log(log, after) if log else [],
        }

    return routes
