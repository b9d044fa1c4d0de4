"""``/v1/metrics/model``: the models' prequential metrics, and their event-time series."""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
from typing import Annotated, Any

from fastapi import APIRouter, Query

from driftline.app.serving.models import ModelMetrics
from driftline.app.serving.openapi import problems
from driftline.read.reader import PredictionsClient

__all__ = ["router"]


def router(reader: PredictionsClient) -> APIRouter:
    """The model metrics route over ``reader``."""
    routes = APIRouter(tags=["metrics"])

    @routes.get(
        "/metrics/model",
        response_model=ModelMetrics,
        response_model_exclude_unset=True,  # the figures a snapshot has, no added nulls
        responses=problems(422, 503),
    )
    def model_metrics(
        history: Annotated[bool, Query(description="add the event-time time series")] = False,
        window: Annotated[
            float | None, Query(gt=0, description="with history: only windows of this length (s)")
        ] = None,
        model: Annotated[
            str | None, Query(max_length=128, description="with history: only this model")
        ] = None,
    ) -> dict[str, Any]:
        """The models' prequential metrics: ``total``, per model (``models``) and per task
        (``tasks``), as ``driftline metrics --json``; with ``history``, ``series`` as
        ``driftline metrics --history --json``."""
        data = reader.metrics()
        if history:
            data["series"] = reader.series(window, model)
        return data

    return routes
