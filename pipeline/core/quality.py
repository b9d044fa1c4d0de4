"""Data-quality rules a decoded event must pass before a task uses it.

The schema already refuses naive or absurd times and non-finite numbers. These rules
need context: the ingest time (an event time far in the future of its own arrival is a
clock or unit mistake), configured value ranges, and the task's kind of model.

>>> from datetime import UTC, datetime, timedelta
>>> from pipeline.core.events import Observation
>>> rules = QualityRules(max_future_s=60, feature_bounds={"distance": (0, 5000)})
>>> t = datetime(2024, 1, 1, tzinfo=UTC)
>>> obs = Observation(event_id="1", key="k", event_time=t, features={"distance": 9000})
>>> rules.check_observation(obs, ingest_time=t)
('out-of-range', 'feature distance=9000 is outside [0, 5000]')
>>> rules.check_time(t + timedelta(hours=1), ingest_time=t)[0]
'event-time-in-future'
>>> rules.check_label(0.5, "classification")[0]
'label-type'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.core.events import Observation
from pipeline.core.models import ModelKind

__all__ = ["QualityRules", "Verdict"]

#: ``None`` when the event passes, else ``(reason, detail)``.
Verdict = tuple[str, str] | None


@dataclass(frozen=True)
class QualityRules:
    """Context rules: future skew, maximum age, numeric ranges per feature."""

    max_future_s: float = 300.0
    max_age_s: float | None = None
    feature_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def check_time(self, event_time: datetime, ingest_time: datetime) -> Verdict:
        ahead = (event_time - ingest_time).total_seconds()
        if ahead > self.max_future_s:
            return (
                "event-time-in-future",
                f"event time {event_time.isoformat()} is {ahead:.0f} s after it reached Kafka",
            )
        if self.max_age_s is not None and -ahead > self.max_age_s:
            return (
                "event-time-too-old",
                f"event time {event_time.isoformat()} is {-ahead:.0f} s before it reached "
                f"Kafka (limit {self.max_age_s:.0f} s)",
            )
        return None

    def check_observation(self, obs: Observation, ingest_time: datetime) -> Verdict:
        verdict = self.check_time(obs.event_time, ingest_time)
        if verdict is not None:
            return verdict
        for name, (low, high) in self.feature_bounds.items():
            value = obs.features.get(name)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if numeric and not low <= value <= high:  # type: ignore[operator]
                return "out-of-range", f"feature {name}={value} is outside [{low}, {high}]"
        return None

    @staticmethod
    def check_label(label: Any, kind: ModelKind) -> Verdict:
        if kind == "classification" and isinstance(label, float):
            return "label-type", f"a classifier needs a class label, got the number {label}"
        if kind == "regression" and (isinstance(label, bool | str)):
            return "label-type", f"a regressor needs a numeric label, got {label!r}"
        return None
