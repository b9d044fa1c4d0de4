"""``POST /v1/predict``: the live champion's answer for an entity key and new features.

The key's partition is the producers' (murmur2, as Kafka's default partitioner); its
newest verified checkpoint answers (:class:`~driftline.read.predictor.CheckpointPredictor`),
through the worker's own feature steps, so serving equals training. Nothing is learned or
stored: the request is not an event, and no prediction is written to Redis.
"""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from driftline.app.serving.errors import ApiError, ErrorCode
from driftline.app.serving.openapi import problems
from driftline.core.events.model import FeatureValue
from driftline.read.predictor import CheckpointPredictor, NoModel, PredictionRefused

__all__ = ["CheckpointInfo", "PredictRequest", "PredictResponse", "router"]

#: A JSON label or decision, as a stored prediction holds it.
JsonLabel = bool | int | float | str | None


class PredictRequest(BaseModel):
    """An entity key and the features to answer; ``event_time`` (ISO 8601 with a zone)
    defaults to now."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"key": "EWR", "features": {"distance": 1400.0, "carrier": "UA"}}]
        },
    )

    key: Annotated[str, Field(min_length=1, max_length=256, description="the entity key")]
    features: dict[Annotated[str, Field(min_length=1, max_length=128)], FeatureValue]
    event_time: datetime | None = None


class CheckpointInfo(BaseModel):
    """The checkpoint that answered: ``<partition>@<next offset>``, when it was sealed,
    the digest of its champion's state."""

    id: str
    partition: int
    next_offset: int | None
    created_at: str | None
    model_digest: str | None


class PredictResponse(BaseModel):
    """The champion's answer, in a stored prediction's form (record format 1)."""

    key: str
    partition: int
    prediction: JsonLabel
    probabilities: dict[str, float] | None = Field(
        description="each label's JSON form to its probability; null for a regressor"
    )
    positive_probability: float | None
    decision: JsonLabel
    model: str = Field(description="the champion's name")
    model_version: int = Field(description="the champion's version (labels it learned)")
    event_time: datetime
    checkpoint: CheckpointInfo


def router(predictor: CheckpointPredictor) -> APIRouter:
    """The predict route over ``predictor``."""
    routes = APIRouter(tags=["predictions"])

    @routes.post(
        "/predict",
        response_model=PredictResponse,
        responses=problems(
            400,
            422,
            503,
            s422="Malformed request, or features the rules, the contract or the model refuse",
            s503="No verified checkpoint for the key's partition yet (or Redis unavailable)",
        ),
    )
    def predict(request: PredictRequest) -> PredictResponse:
        """The champion's answer for ``key`` with ``features``, from the newest verified
        checkpoint of the key's partition (reloaded when a newer one lands). Learns
        nothing and stores nothing."""
        try:
            answer = predictor.predict(request.key, request.features, request.event_time)
        except NoModel as exc:
            raise ApiError(503, ErrorCode.NO_MODEL, str(exc)) from exc
        except PredictionRefused as exc:
            detail = f"{exc.reason}: {exc.detail}"
            raise ApiError(422, ErrorCode.FEATURES_REFUSED, detail, where="body.features") from exc
        return PredictResponse.model_validate(answer.to_dict())

    return routes
