"""A user's record mapped to driftline's events, as its source file says.

:class:`RecordMapper` turns one decoded record (a dict: a JSON object or an Avro record) of
one of the source's topics into an :class:`~driftline.core.events.model.Observation` or an
:class:`~driftline.core.events.model.Outcome`, or refuses it with
:class:`~driftline.core.errors.MappingRefused`: a ``source-*`` reason of
:class:`~driftline.core.quality.reasons.Rule` and a detail naming the topic and the field.

>>> from driftline.core.sources.spec import SourceSpec
>>> mapper = RecordMapper(SourceSpec.model_validate({
...     "topics": {"observations": ["loans"], "outcomes": ["loan-outcomes"]},
...     "observation": {"key": "customer.id", "event_id": "loan_id",
...                     "event_time": "applied_at", "features": ["amount", "customer.age"]},
...     "outcome": {"event_id": "loan_id", "event_time": "resolved_at", "time": "epoch_ms",
...                 "label": "defaulted", "labels": {"Y": True, "N": False}},
... }))
>>> obs = mapper.map("loans", {"loan_id": 17, "applied_at": "2024-03-01T09:30:00Z",
...                            "amount": 1200.0, "customer": {"id": "c-9", "age": 41}})
>>> obs.event_id, obs.key, obs.features
('17', 'c-9', {'amount': 1200.0, 'customer.age': 41})
>>> outcome = mapper.map("loan-outcomes", {"loan_id": 17, "resolved_at": 1711929600000,
...                                        "defaulted": "N"})
>>> outcome.key, outcome.label, mapper.route_key(outcome), mapper.route_key(obs)
('17', False, '17', '17')
>>> mapper.map("loan-outcomes", {"loan_id": 17, "resolved_at": 1711929600000,
...                              "defaulted": "maybe"})
Traceback (most recent call last):
...
driftline.core.errors.MappingRefused: source-label-unmapped: topic 'loan-outcomes': outcome \
label 'defaulted': 'maybe' is not in the value map ('Y', 'N')

Decisions (``docs/sources.md`` says them to users):

- A listed feature whose field is absent is a missing value (``None``), as a null is: JSON
  producers often leave nulls out. A listed feature that is a record or a list is refused
  (``source-feature-nested``): list the nested fields by path instead.
- With ``features_except``, every top-level field but those named, the key, the event id,
  the event time and the kind field is a feature; records, lists and bytes among them are
  skipped (they are no feature value), so a nested ``customer`` record holding the key does
  not refuse every record.
- Avro's logical types are read as values: a decimal as a float, a UUID as text, a date or a
  time as ISO text (an event time written as a timestamp is taken as it is).
- A non-finite float (a feature or a label) is refused (``source-value-invalid``), as
  driftline's own events refuse it.
- An outcome without a key path gets its event id as its ``key``: then both kinds are routed
  by event id (:meth:`RecordMapper.route_key`).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any, Final

from pydantic import ValidationError

from driftline.core.errors import EventValidationError, MappingRefused
from driftline.core.events.model import EventKind, FeatureValue, Label, Observation, Outcome
from driftline.core.quality.reasons import Rule
from driftline.core.sources.paths import MISSING, Missing, get_at, split, why_missing
from driftline.core.sources.spec import SourceSpec, label_text
from driftline.core.sources.times import TimeUnit, parse_event_time

__all__ = ["MappingRefused", "RecordMapper"]

_OBSERVATION: Final[EventKind] = "observation"
_OUTCOME: Final[EventKind] = "outcome"


class _Field:
    """One mapped field: its role (``"key"``, ``"event_time"``...), path and parts."""

    __slots__ = ("kind", "parts", "path", "role")

    def __init__(self, kind: EventKind, role: str, path: str) -> None:
        self.kind, self.role, self.path, self.parts = kind, role, path, split(path)

    def refuse(self, reason: Rule, topic: str, problem: str) -> MappingRefused:
        where = f"topic {topic!r}: {self.kind} {self.role} {self.path!r}"
        return MappingRefused(reason, f"{where}: {problem}")

    def read(self, topic: str, record: Mapping[str, Any]) -> Any:
        """The field's value; absent or null is refused (``source-field-missing``)."""
        value = get_at(record, self.parts)
        if value is MISSING or value is None:
            problem = "the field is null" if value is None else why_missing(record, self.parts)
            raise self.refuse(Rule.SOURCE_FIELD_MISSING, topic, problem)
        return value

    def read_id(self, topic: str, record: Mapping[str, Any]) -> str:
        """The field's value as an id (a key or an event id): text, or an integer as text."""
        value = self.read(topic, record)
        if isinstance(value, str):
            return value
        if isinstance(value, int | uuid.UUID) and not isinstance(value, bool):
            return str(value)
        problem = f"an id is text or an integer, not {_what(value)}"
        raise self.refuse(Rule.SOURCE_VALUE_INVALID, topic, problem)


class _Times:
    """How one kind's event time is read: its field, unit and zone."""

    __slots__ = ("field", "timezone", "unit")

    def __init__(self, field: _Field, unit: TimeUnit, timezone: str) -> None:
        self.field, self.unit, self.timezone = field, unit, timezone

    def read(self, topic: str, record: Mapping[str, Any]) -> datetime:
        value = self.field.read(topic, record)
        try:
            return parse_event_time(value, self.unit, self.timezone)
        except EventValidationError as exc:
            raise self.field.refuse(Rule.SOURCE_TIME_INVALID, topic, str(exc)) from None


class RecordMapper:
    """Maps the records of a source's topics to driftline's events (see the module).

    Paths are split once here; :meth:`map` runs per record.
    """

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        #: True when outcomes carry no entity key: both kinds are routed by event id.
        self.route_by_event_id: bool = spec.route_by_event_id
        layout = spec.topic_layout
        self._kind_of_topic: dict[str, EventKind | None] = {
            **dict.fromkeys(layout.observations, _OBSERVATION),
            **dict.fromkeys(layout.outcomes, _OUTCOME),
            **dict.fromkeys(layout.events, None),
        }
        kind = layout.kind
        self._kind_field = None if kind is None or kind.field is None else split(kind.field)
        self._kind_header = None if kind is None else kind.header
        self._kinds: dict[str, EventKind] = (
            {} if kind is None else {kind.observation: _OBSERVATION, kind.outcome: _OUTCOME}
        )
        obs, out = spec.observation, spec.outcome
        self._obs_key = _Field(_OBSERVATION, "key", obs.key)
        self._obs_id = _Field(_OBSERVATION, "event_id", obs.event_id)
        self._obs_time = _Times(
            _Field(_OBSERVATION, "event_time", obs.event_time), obs.time, obs.timezone
        )
        self._listed = tuple(_Field(_OBSERVATION, "feature", path) for path in obs.features or ())
        self._all_but = obs.features_except is not None
        used = (obs.key, obs.event_id, obs.event_time, *(obs.features_except or ()))
        kind_field = () if kind is None or kind.field is None else (kind.field,)
        self._excluded = frozenset(path for path in (*used, *kind_field) if "." not in path)
        self._out_key = None if out.key is None else _Field(_OUTCOME, "key", out.key)
        self._out_id = _Field(_OUTCOME, "event_id", out.event_id)
        self._out_time = _Times(
            _Field(_OUTCOME, "event_time", out.event_time), out.time, out.timezone
        )
        self._label = _Field(_OUTCOME, "label", out.label)
        self._labels = out.labels

    def map(
        self, topic: str, value: Any, headers: Mapping[str, bytes] | None = None
    ) -> Observation | Outcome:
        """The event the decoded record ``value`` of ``topic`` is; ``headers`` are the Kafka
        record's (only read when a header tells the kinds apart)."""
        if type(value) is not dict and not isinstance(value, Mapping):
            detail = f"topic {topic!r}: a record (an object) is expected, not {_what(value)}"
            raise MappingRefused(Rule.SOURCE_NOT_A_RECORD, detail)
        if self.kind_of(topic, value, headers) == _OBSERVATION:
            return self._observation(topic, value)
        return self._outcome(topic, value)

    def kind_of(
        self, topic: str, record: Mapping[str, Any], headers: Mapping[str, bytes] | None = None
    ) -> EventKind:
        """Whether ``record`` of ``topic`` is an observation or an outcome."""
        try:
            kind = self._kind_of_topic[topic]
        except KeyError:
            detail = f"topic {topic!r} is not a topic of the source file"
            raise MappingRefused(Rule.SOURCE_KIND_UNKNOWN, detail) from None
        if kind is not None:
            return kind
        if self._kind_field is not None:
            where = f"field {'.'.join(self._kind_field)!r}"
            raw: Any = get_at(record, self._kind_field)
            if raw is MISSING or raw is None:
                raise MappingRefused(
                    Rule.SOURCE_KIND_UNKNOWN,
                    f"topic {topic!r}: kind {where}: {why_missing(record, self._kind_field)}"
                    if raw is MISSING
                    else f"topic {topic!r}: kind {where} is null",
                )
        else:
            where = f"header {self._kind_header!r}"
            raw = None if headers is None else headers.get(str(self._kind_header))
            if raw is None:
                raise MappingRefused(Rule.SOURCE_KIND_UNKNOWN, f"topic {topic!r}: no {where}")
            if isinstance(raw, bytes | bytearray):
                raw = bytes(raw).decode("utf-8", errors="replace")
        text = label_text(raw)
        found = self._kinds.get(text)
        if found is None:
            names = " or ".join(f"{name!r} ({what})" for name, what in self._kinds.items())
            detail = f"topic {topic!r}: kind {where} is {text[:64]!r}, not {names}"
            raise MappingRefused(Rule.SOURCE_KIND_UNKNOWN, detail)
        return found

    def route_key(self, event: Observation | Outcome) -> str:
        """The key ``event`` is republished under: its entity key, or its event id when
        outcomes carry no key (:attr:`route_by_event_id`)."""
        return event.event_id if self.route_by_event_id else event.key

    def _observation(self, topic: str, record: Mapping[str, Any]) -> Observation:
        event_id = self._obs_id.read_id(topic, record)
        key = self._obs_key.read_id(topic, record)
        event_time = self._obs_time.read(topic, record)
        features = self._all_features(topic, record) if self._all_but else {}
        for field in self._listed:
            raw = get_at(record, field.parts)
            value = None if raw is MISSING else _scalar(raw)
            if value is MISSING or value is _NON_FINITE:
                raise self._refuse_feature(topic, field, raw)
            features[field.path] = value
        try:
            return Observation(event_id=event_id, key=key, event_time=event_time, features=features)
        except ValidationError as exc:
            raise _invalid(topic, _OBSERVATION, exc) from None

    def _all_features(self, topic: str, record: Mapping[str, Any]) -> dict[str, FeatureValue]:
        features: dict[str, FeatureValue] = {}
        excluded = self._excluded
        for name, raw in record.items():
            if name in excluded:
                continue
            value = _scalar(raw)
            if value is MISSING:
                continue
            if value is _NON_FINITE:
                field = _Field(_OBSERVATION, "feature", str(name))
                raise field.refuse(Rule.SOURCE_VALUE_INVALID, topic, f"{raw} is not finite")
            features[name] = value
        return features

    @staticmethod
    def _refuse_feature(topic: str, field: _Field, raw: Any) -> MappingRefused:
        if _scalar(raw) is _NON_FINITE:
            return field.refuse(Rule.SOURCE_VALUE_INVALID, topic, f"{raw} is not finite")
        problem = f"a feature is a single value, not {_what(raw)} (list its fields by path)"
        return field.refuse(Rule.SOURCE_FEATURE_NESTED, topic, problem)

    def _outcome(self, topic: str, record: Mapping[str, Any]) -> Outcome:
        event_id = self._out_id.read_id(topic, record)
        key = event_id if self._out_key is None else self._out_key.read_id(topic, record)
        event_time = self._out_time.read(topic, record)
        label = self._read_label(topic, record)
        try:
            return Outcome(event_id=event_id, key=key, event_time=event_time, label=label)
        except ValidationError as exc:
            raise _invalid(topic, _OUTCOME, exc) from None

    def _read_label(self, topic: str, record: Mapping[str, Any]) -> Label:
        field, labels = self._label, self._labels
        if labels is not None:
            raw = get_at(record, field.parts)
            if raw is not MISSING and label_text(raw) in labels:
                return labels[label_text(raw)]
            if raw is not MISSING and raw is not None:
                known = ", ".join(repr(name) for name in list(labels)[:8])
                problem = f"{label_text(raw)[:64]!r} is not in the value map ({known})"
                raise field.refuse(Rule.SOURCE_LABEL_UNMAPPED, topic, problem)
        raw = field.read(topic, record)
        value = _scalar(raw)
        if value is MISSING or value is _NON_FINITE:
            problem = f"a label is a boolean, a number or text, not {_what(raw)}"
            raise field.refuse(Rule.SOURCE_VALUE_INVALID, topic, problem)
        assert value is not None  # read() refused a null
        return value


class _NonFinite(Enum):
    """The type of what :func:`_scalar` returns for a non-finite number."""

    NON_FINITE = "non-finite"


_NON_FINITE: Final = _NonFinite.NON_FINITE


def _scalar(raw: Any) -> FeatureValue | Missing | _NonFinite:
    """``raw`` as a feature value; :data:`MISSING` when it is none (a record, a list,
    bytes), :data:`_NON_FINITE` for a NaN or an infinity."""
    kind = type(raw)
    if kind is str or kind is int or kind is bool or raw is None:
        return raw  # the common case first
    if kind is float:
        return raw if math.isfinite(raw) else _NON_FINITE
    if isinstance(raw, str | int):  # a subclass (an enum member...) as its plain value
        return str(raw) if isinstance(raw, str) else int(raw)
    if isinstance(raw, float | Decimal):
        if isinstance(raw, Decimal) and not raw.is_finite():
            return _NON_FINITE
        number = float(raw)
        return number if math.isfinite(number) else _NON_FINITE
    if isinstance(raw, datetime | date | time):
        return raw.isoformat()
    if isinstance(raw, uuid.UUID):
        return str(raw)
    return MISSING


def _invalid(topic: str, kind: EventKind, exc: ValidationError) -> MappingRefused:
    """A pydantic refusal of the event built, as a dead letter's reason and detail."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    detail = f"topic {topic!r}: the {kind}'s {where}: {message}"
    return MappingRefused(Rule.SOURCE_VALUE_INVALID, detail)


def _what(value: Any) -> str:
    """A short description of a value of the wrong type."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a record"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__} ({repr(value)[:40]})"
