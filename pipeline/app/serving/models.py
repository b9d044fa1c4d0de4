"""What the API's routes answer, as pydantic models: the OpenAPI document is typed from
them (``/openapi.json``), so generated clients are typed too.

A prediction's fields are those of the Redis record
(:class:`~driftline.adapters.stored_prediction.StoredPrediction`); the metrics are the
figures ``driftline metrics --json`` prints, typed where their names are fixed and open
(``additionalProperties``) where a model, a task or a quality rule adds its own.

>>> PredictionsRequest(keys=["N1", "N2"]).keys
['N1', 'N2']
>>> sorted(Readiness.model_json_schema()["properties"])
['kafka', 'ready', 'redis', 'warnings']
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Alert",
    "Alerts",
    "EntityKey",
    "Figures",
    "Health",
    "KafkaHealth",
    "Label",
    "Liveness",
    "ModelMetrics",
    "PredictionsFound",
    "PredictionsRequest",
    "Quality",
    "QualityFinding",
    "Readiness",
    "RedisHealth",
    "ServiceCheck",
    "StoredPrediction",
]

#: A label or a decision as JSON carries it (a class, a number, ``null``).
Label = bool | int | float | str | None

#: An entity key: 1 to 256 characters, none of them a control character.
EntityKey = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]


class _Open(BaseModel):
    """A record whose named fields are documented and whose others pass through."""

    model_config = ConfigDict(extra="allow")


class StoredPrediction(BaseModel):
    """The latest prediction of one entity, as the worker stored it in Redis."""

    key: str
    prediction: Label
    probabilities: dict[str, float] | None = Field(
        description='label (its JSON form: true, 3, "EWR") to probability; null for a regressor'
    )
    positive_probability: float | None = Field(
        description="a binary classifier's probability of the positive class"
    )
    model_version: int
    event_id: str
    event_time: str = Field(description="ISO 8601")
    ingest_time: str = Field(description="ISO 8601, Kafka's append time")
    predicted_time: str = Field(description="ISO 8601")
    partition: int
    offset: int
    model: str = Field(description="the model that made it (the champion)")
    decision: Label = Field(description="the decision served, after the threshold")
    threshold: float | None = Field(description="the decision threshold; null: argmax")
    config: str = Field(description="the fingerprint of the configuration that made it")
    format: int = Field(description="the version of the stored record")


class PredictionsFound(BaseModel):
    """Several keys' latest predictions: the keys that have one, and the others."""

    predictions: dict[str, StoredPrediction]
    missing: list[str]


class PredictionsRequest(BaseModel):
    """The keys of ``POST /v1/predictions:batch`` (too many: 413)."""

    model_config = ConfigDict(extra="forbid")

    keys: list[EntityKey] = Field(min_length=1, description="entity keys (a key may repeat)")


class Figures(_Open):
    """Prequential figures: over every task (``total``), of one model or of one task.
    The fields named here are those the dashboard reads; the others are listed in
    docs/reference/metrics.md."""

    kind: str | None = None
    counts: dict[str, int | float] | None = None
    accuracy: float | None = None
    roc_auc: float | None = None
    log_loss: float | None = None
    quality: dict[str, object] | None = None
    watermark_lag_s: float | None = None


class SeriesPoint(_Open):
    """One closed event-time window of one model, its partitions' points added up."""

    start_s: float


class ModelMetrics(BaseModel):
    """The models' prequential metrics, as ``driftline metrics --json``; ``series`` only
    when asked (``history=true``), by ``"<window_s>:<model>"``."""

    total: Figures
    models: dict[str, Figures]
    tasks: dict[str, Figures]
    series: dict[str, list[SeriesPoint]] | None = None


class Alert(_Open):
    """A drift alarm, a promotion or a rollback, with its evidence."""

    id: str = Field(description="the alerts stream's entry id")
    kind: str
    partition: int | None = None


class Alerts(BaseModel):
    """The newest alerts, newest first."""

    alerts: list[Alert]


class QualityFinding(_Open):
    """One data-quality finding of the quality log."""

    id: str = Field(description="the quality log's entry id (resume with ?after=)")
    rule: str | None = None
    dimension: str | None = None
    partition: int | None = None
    offset: int | None = None


class Quality(BaseModel):
    """The data quality in four dimensions, the watermark's lag, and the quality log."""

    quality: dict[str, object] | None
    watermark_lag_s: float | None
    log: list[QualityFinding]


class RedisHealth(BaseModel):
    """Redis reachable, its ping, and the newest prediction's age (Redis's clock)."""

    reachable: bool
    error: str | None = None
    ping_s: float | None = None
    last_prediction_id: str | None = None
    last_prediction_age_s: float | None = None


class KafkaHealth(BaseModel):
    """Kafka reachable (``null``: not checked) and the group's lag per partition."""

    reachable: bool | None
    error: str | None = None
    lag: dict[str, int] | None = None
    total_lag: int | None = None


class Health(BaseModel):
    """The detailed report: ``ok``, ``degraded`` (Kafka down: predictions still served)
    or ``unavailable`` (Redis down: 503)."""

    namespace: str
    status: Literal["ok", "degraded", "unavailable"]
    redis: RedisHealth
    kafka: KafkaHealth


class Liveness(BaseModel):
    """The process answers (its event loop runs)."""

    status: Literal["alive"] = "alive"


class ServiceCheck(BaseModel):
    """One dependency of readiness: reachable or not (``null``: not checked), and why not."""

    reachable: bool | None
    error: str | None = None


class Readiness(BaseModel):
    """Ready when Redis and Kafka answer (Kafka not checked counts as answering)."""

    ready: bool
    redis: ServiceCheck
    kafka: ServiceCheck
    warnings: list[str] = Field(
        default_factory=list,
        description="what may go wrong while ready: a Redis that evicts predictions when full",
    )
