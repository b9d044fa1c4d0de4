"""``/v1/alerts``: drift alarms, promotions and rollbacks, newest first."""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
from typing import Annotated, Any

from fastapi import APIRouter, Query

from driftline.app.serving.models import Alerts
from driftline.app.serving.openapi import problems
from driftline.read.reader import PredictionsClient

__all__ = ["router"]


def router(reader: PredictionsClient) -> APIRouter:
    """The alerts route over ``reader``."""
    routes = APIRouter(tags=["metrics"])

    @routes.get(
        "/alerts",
        response_model=Alerts,
        response_model_exclude_unset=True,
        responses=problems(422, 503),
    )
    def alerts(
        count: Annotated[int, Query(ge=1, le=10_000)] = 50,
        kind: Annotated[str | None, Query(max_length=32)] = None,
    ) -> dict[str, Any]:
        """Drift alarms, promotions and rollbacks with their evidence, newest first."""
        return {"alerts": reader.alerts(count, kind)}

    return routes
