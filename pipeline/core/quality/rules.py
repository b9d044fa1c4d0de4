"""Data-quality rules a decoded event must pass before a task uses it.

The schema already refuses naive or absurd times and non-finite numbers. These rules
need context: the ingest time (an event time far in the future of its own arrival is a
clock or unit mistake), configured value ranges, and the task's kind of model.

>>> from datetime import UTC, datetime, timedelta
>>> from driftline.core.events.model import Observation
>>> rules = QualityRules(max_future_s=60, feature_bounds={"distance": (0, 5000)})
>>> t = datetime(2024, 1, 1, tzinfo=UTC)
>>> obs = Observation(event_id="1", key="k", event_time=t, features={"distance": 9000})
>>> rules.check_observation(obs, ingest_time=t)
(<Rule.OUT_OF_RANGE: 'out-of-range'>, 'feature distance=9000 is outside [0, 5000]')
>>> rules.check_time(t + timedelta(hours=1), ingest_time=t)[0]
<Rule.EVENT_TIME_IN_FUTURE: 'event-time-in-future'>
>>> rules.check_label(0.5, "classification")[0] == "label-type"  # a rule is its name
True

Default limits keep a single absurd but finite value away from the model:

>>> rule, detail = QualityRules().check_observation(Observation(event_id="2", key="k",
...     event_time=t, features={"x": 1e308}), ingest_time=t)
>>> print(rule, detail)
value-too-large feature x=1e+308 is beyond ±1e+15 (DRIFTLINE_MAX_FEATURE_ABS)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from driftline.core.events.model import Observation
from driftline.core.learning.models import ModelKind
from driftline.core.quality.reasons import Rule
from driftline.core.times import MAX_EVENT_TIME, MIN_EVENT_TIME, to_millis

__all__ = ["QualityRules", "RuleVerdict", "Verdict"]

_MIN_MS, _MAX_MS = to_millis(MIN_EVENT_TIME), to_millis(MAX_EVENT_TIME)

#: ``None`` when the event passes, else ``(reason, detail)``: a dead-letter reason.
Verdict = tuple[str, str] | None
#: A :class:`QualityRules` verdict: the reason is the :class:`Rule` broken.
RuleVerdict = tuple[Rule, str] | None


@dataclass(frozen=True)
class QualityRules:
    """Context rules: future skew, maximum age, numeric ranges per feature, and limits
    on any observation (feature count, magnitude of numbers, length of text).

    Bounds and descriptions (``Field``) are what the settings accept
    (:meth:`driftline.core.task.config.TaskConfig.field_info`); they are not checked here.
    """

    max_future_s: Annotated[
        float, Field(ge=0, description="event time ahead of ingest allowed")
    ] = 300.0
    max_age_s: Annotated[
        float | None, Field(gt=0, description="event time behind ingest allowed")
    ] = None
    #: (low, high) of each numeric feature named.
    feature_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    max_features: Annotated[int, Field(ge=1, description="features an observation may carry")] = (
        1000
    )
    max_abs_value: Annotated[
        float, Field(gt=0, description="largest magnitude of a numeric feature or label")
    ] = 1e15
    max_string_length: Annotated[int, Field(ge=1, description="longest text feature or label")] = (
        1024
    )
    max_record_bytes: Annotated[int, Field(ge=64, description="largest record value")] = 1 << 20

    def check_record(self, value: bytes | None, timestamp_ms: int) -> RuleVerdict:
        """The raw record, before it is decoded: its size and its ingest time (a broker
        clock outside the sane range of event times cannot measure lateness)."""
        if not _MIN_MS <= timestamp_ms < _MAX_MS:
            return (
                Rule.INGEST_TIME_OUT_OF_RANGE,
                f"the record's timestamp {timestamp_ms} ms is outside "
                f"[{MIN_EVENT_TIME.date()}, {MAX_EVENT_TIME.date()})",
            )
        if value is not None and len(value) > self.max_record_bytes:
            return (
                Rule.RECORD_TOO_LARGE,
                f"{len(value):,} bytes, more than {self.max_record_bytes:,} "
                "(DRIFTLINE_MAX_RECORD_BYTES)",
            )
        return None

    def check_time(self, event_time: datetime, ingest_time: datetime) -> RuleVerdict:
        ahead = (event_time - ingest_time).total_seconds()
        if ahead > self.max_future_s:
            return (
                Rule.EVENT_TIME_IN_FUTURE,
                f"event time {event_time.isoformat()} is {ahead:.0f} s after it reached Kafka",
            )
        if self.max_age_s is not None and -ahead > self.max_age_s:
            return (
                Rule.EVENT_TIME_TOO_OLD,
                f"event time {event_time.isoformat()} is {-ahead:.0f} s before it reached "
                f"Kafka (limit {self.max_age_s:.0f} s)",
            )
        return None

    def check_observation(self, obs: Observation, ingest_time: datetime) -> RuleVerdict:
        verdict = self.check_time(obs.event_time, ingest_time)
        if verdict is not None:
            return verdict
        features = obs.features
        if len(features) > self.max_features:
            return (
                Rule.TOO_MANY_FEATURES,
                f"{len(features)} features, more than {self.max_features} (DRIFTLINE_MAX_FEATURES)",
            )
        limit = self.max_abs_value
        for name, value in features.items():
            kind = type(value)
            if kind is float:  # the usual case first: no isinstance, no abs()
                if -limit <= value <= limit:  # type: ignore[operator]
                    continue
            elif kind is str or isinstance(value, str):
                if len(value) > self.max_string_length:  # type: ignore[arg-type]
                    return (
                        Rule.STRING_TOO_LONG,
                        f"feature {name} has {len(value)} characters, more than "  # type: ignore[arg-type]
                        f"{self.max_string_length} (DRIFTLINE_MAX_STRING_LENGTH)",
                    )
                continue
            if _is_number(value) and abs(value) > limit:  # type: ignore[arg-type]
                return (
                    Rule.VALUE_TOO_LARGE,
                    f"feature {name}={value} is beyond ±{self.max_abs_value:g} "
                    "(DRIFTLINE_MAX_FEATURE_ABS)",
                )
        for name, (low, high) in self.feature_bounds.items():
            value = features.get(name)
            if _is_number(value) and not low <= value <= high:  # type: ignore[operator]
                return Rule.OUT_OF_RANGE, f"feature {name}={value} is outside [{low}, {high}]"
        return None

    def check_label(self, label: Any, kind: ModelKind, multiclass: bool = True) -> RuleVerdict:
        if type(label) is bool and kind == "classification":  # the usual case: nothing to check
            return None
        if kind == "classification" and isinstance(label, float):
            return Rule.LABEL_TYPE, f"a classifier needs a class label, got the number {label}"
        if kind == "classification" and not multiclass and not _is_binary(label):
            return (
                Rule.LABEL_TYPE,
                f"the model is a binary classifier: labels are true/false (or 1/0), got {label!r}",
            )
        if kind == "regression" and (isinstance(label, bool | str)):
            return Rule.LABEL_TYPE, f"a regressor needs a numeric label, got {label!r}"
        if isinstance(label, str) and len(label) > self.max_string_length:
            return Rule.STRING_TOO_LONG, f"the label has {len(label)} characters"
        if _is_number(label) and abs(label) > self.max_abs_value:
            return (
                Rule.VALUE_TOO_LARGE,
                f"label {label} is beyond ±{self.max_abs_value:g} (DRIFTLINE_MAX_FEATURE_ABS)",
            )
        return None


def _is_binary(label: Any) -> bool:
    return isinstance(label, bool) or (isinstance(label, int) and label in (0, 1))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
