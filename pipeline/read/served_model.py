"""One partition's checkpointed task, asked about new features: request-time prediction.

A :class:`ServedModel` holds a task restored from a verified checkpoint and answers an
observation the way the worker would have answered it, through the same steps
(:meth:`driftline.core.task.partition.PartitionTask._observe`): the quality rules, the
data contract's cleaning (read from the checkpoint's contract state, never changed), the
feature function or the built-in feature steps with the label rates the checkpoint holds,
then the champion's ``predict_proba_one`` (every model's, as the ensemble does). So serving
equals training: the vector is built by the code and the state that built the training
vectors.

It learns nothing and stores nothing: no admission window records the request, nothing is
pending, no metric counts it, and the task is never sealed again. The only state a request
touches is the label-rate history's least-recently-used order (read, as the worker reads
it), in this process's copy of the task.

>>> from datetime import UTC, datetime
>>> from driftline.core.task.partition import FeatureConfig, PartitionTask, TaskConfig
>>> task = PartitionTask(0, TaskConfig(features=FeatureConfig(raw_only=True)))
>>> served = ServedModel(task, {"next_offset": 7, "created_at": "2024-06-01T08:00:00+00:00"})
>>> at = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
>>> answer = served.answer("k", {"x": 1.0}, at, at)
>>> answer.model, answer.model_version, answer.checkpoint.id
('main', 0, '0@7')
>>> try:
...     served.answer("k", {"x": float("nan")}, at, at)
... except PredictionRefused as exc:
...     print(exc.reason)
invalid-event
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from driftline.adapters.stored_prediction import json_label, label_name, positive_probability
from driftline.core.errors import DriftlineError
from driftline.core.events.model import FeatureValue, Observation
from driftline.core.learning.ensemble import Served
from driftline.core.learning.user_features import FeatureFunctionFailed
from driftline.core.task.partition import PartitionTask

__all__ = ["Answer", "CheckpointRef", "PredictionRefused", "ServedModel"]


class PredictionRefused(DriftlineError):
    """The features cannot be answered: the reason (a dead letter's, for the same
    observation in the stream) and one sentence why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = str(reason)
        self.detail = detail


@dataclass(frozen=True)
class CheckpointRef:
    """Which checkpoint answered: ``<partition>@<next offset>`` (its name in the history),
    when it was sealed, and the digest of its champion's state."""

    partition: int
    next_offset: int | None
    created_at: str | None
    model_digest: str | None

    @property
    def id(self) -> str:
        return f"{self.partition}@{self.next_offset}"


@dataclass(frozen=True)
class Answer:
    """The champion's answer, as a stored prediction (format 1) writes it: the label as
    JSON, probabilities by the label's JSON name, the positive class's probability."""

    key: str
    partition: int
    prediction: Any
    probabilities: dict[str, float] | None
    positive_probability: float | None
    decision: Any
    model: str
    model_version: int
    checkpoint: CheckpointRef
    event_time: datetime

    def to_dict(self) -> dict[str, Any]:
        ref = self.checkpoint
        return {
            "key": self.key,
            "partition": self.partition,
            "prediction": self.prediction,
            "probabilities": self.probabilities,
            "positive_probability": self.positive_probability,
            "decision": self.decision,
            "model": self.model,
            "model_version": self.model_version,
            "event_time": self.event_time.isoformat(),
            "checkpoint": {
                "id": ref.id,
                "partition": ref.partition,
                "next_offset": ref.next_offset,
                "created_at": ref.created_at,
                "model_digest": ref.model_digest,
            },
        }


class ServedModel:
    """``task`` (restored from the checkpoint whose verified header is ``header``),
    answering features without learning them."""

    def __init__(self, task: PartitionTask, header: dict[str, Any]) -> None:
        self.task = task
        self.checkpoint = CheckpointRef(
            task.partition,
            header.get("next_offset"),
            header.get("created_at"),
            header.get("model_digest"),
        )

    def answer(
        self,
        key: str,
        features: dict[str, FeatureValue],
        event_time: datetime,
        now: datetime,
    ) -> Answer:
        """The champion's answer for ``key`` with ``features`` at ``event_time`` (``now``:
        the ingest time the feature steps see). Raises :class:`PredictionRefused` when the
        worker would have dead-lettered the same observation."""
        task = self.task
        try:
            obs = Observation(
                event_id=f"predict-{uuid.uuid4().hex}",
                key=key,
                event_time=event_time,
                features=features,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PredictionRefused("invalid-event", f"{where}: {first['msg']}") from exc
        refused = task.config.quality.check_observation(obs, now)
        if refused is not None:
            raise PredictionRefused(*refused)
        admitted = dict(obs.features)
        contract = task.admission.contract
        if contract is not None:
            state = task.state.admission.contract_state
            assert state is not None  # made with the contract
            checked = contract.check(obs.features, state)  # reads the state, never changes it
            if checked.refused is not None:
                raise PredictionRefused(*checked.refused)
            admitted = checked.features
        try:
            model_features = task.inputs.features(obs, admitted)
        except FeatureFunctionFailed as exc:
            raise PredictionRefused(exc.reason, str(exc)) from exc
        x, _groups = task.inputs.build(obs, now, model_features, task.state.history)
        served = task.ensemble.predict_one(x)
        if not isinstance(served, Served):
            raise PredictionRefused(*served)
        return self._answer(key, obs.event_time, served)

    def _answer(self, key: str, event_time: datetime, served: Served) -> Answer:
        probabilities = served.probabilities
        return Answer(
            key=key,
            partition=self.task.partition,
            prediction=json_label(served.prediction),
            probabilities=(
                None
                if probabilities is None
                else {label_name(label): float(p) for label, p in probabilities.items()}
            ),
            positive_probability=positive_probability(probabilities),
            decision=json_label(served.decision),
            model=served.slot.name,
            model_version=served.slot.version,
            checkpoint=self.checkpoint,
            event_time=event_time,
        )
