"""A source file as declared: the user's topics, their format, and how a record maps to an
observation or an outcome (``docs/sources.md``).

Every model is frozen and refuses unknown keys; the cross-field rules are checked here, so a
mistake is refused before anything connects.
:func:`~driftline.adapters.source_files.load_source` reads a file into a :class:`SourceSpec`.

>>> spec = SourceSpec.model_validate({
...     "topics": {"observations": ["loans"], "outcomes": ["loan-outcomes"]},
...     "observation": {"key": "customer.id", "event_id": "loan_id",
...                     "event_time": "applied_at", "features": ["amount"]},
...     "outcome": {"event_id": "loan_id", "event_time": "resolved_at",
...                 "time": "epoch_ms", "label": "defaulted"},
... })
>>> spec.topics(), spec.route_by_event_id, spec.format.type
(('loans', 'loan-outcomes'), True, 'json')
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from driftline.core.events.model import Label
from driftline.core.sources.paths import check_path
from driftline.core.sources.times import TimeUnit, zone

__all__ = [
    "FormatSpec",
    "FormatType",
    "KindSpec",
    "ObservationSpec",
    "OutcomeSpec",
    "SourceSpec",
    "TopicsSpec",
    "label_text",
]

#: How the user's records are written: JSON, or Avro in the Confluent wire format (a
#: magic byte, the registry's schema id, the Avro body).
FormatType = Literal["json", "avro"]

#: What Kafka allows in a topic's name.
_TOPIC = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
#: The longest feature name an observation may carry (the path is the feature's name).
_MAX_FEATURE_NAME = 128


def label_text(value: Any) -> str:
    """The text a raw value is looked up by in a value map: its JSON form, strings as they
    are (so a map's keys, which TOML writes as text, can name numbers and booleans too).

    >>> [label_text(v) for v in ("Y", 1, True, None, 2.5)]
    ['Y', '1', 'true', 'null', '2.5']
    """
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_topics(topics: tuple[str, ...]) -> tuple[str, ...]:
    for topic in topics:
        if not _TOPIC.match(topic) or topic in (".", ".."):
            raise ValueError(
                f"{topic!r} is not a Kafka topic name (letters, digits, '.', '_' and '-')"
            )
    if len(set(topics)) != len(topics):
        raise ValueError(f"a topic is listed twice in {list(topics)}")
    return topics


def _check_zone(name: str) -> str:
    try:
        zone(name)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return name


class KindSpec(_Spec):
    """How one topic holding both kinds tells them apart: a field's value or a header's."""

    field: str | None = None
    header: str | None = None
    observation: str
    outcome: str

    @field_validator("field")
    @classmethod
    def _field_path(cls, path: str | None) -> str | None:
        return None if path is None else check_path(path)

    @field_validator("observation", "outcome", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return label_text(value) if isinstance(value, bool | int) else value

    @model_validator(mode="after")
    def _one_place(self) -> KindSpec:
        if (self.field is None) == (self.header is None):
            raise ValueError("give either field (a field path) or header (a header's name)")
        if self.header is not None and not self.header:
            raise ValueError("header is a header's name, not empty")
        if self.observation == self.outcome:
            raise ValueError(f"observation and outcome are both {self.observation!r}")
        return self


class TopicsSpec(_Spec):
    """The topics read: observations and outcomes apart, or ``events`` with ``kind``."""

    observations: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    kind: KindSpec | None = None

    @field_validator("observations", "outcomes", "events")
    @classmethod
    def _names(cls, topics: tuple[str, ...]) -> tuple[str, ...]:
        return _check_topics(topics)

    @model_validator(mode="after")
    def _one_layout(self) -> TopicsSpec:
        apart = bool(self.observations or self.outcomes)
        if apart and (self.events or self.kind is not None):
            raise ValueError(
                "give observations and outcomes, or events with kind (one topic holding "
                "both), not both ways"
            )
        if apart:
            if not (self.observations and self.outcomes):
                missing = "outcomes" if self.observations else "observations"
                raise ValueError(f"{missing}: list at least one topic")
            both = set(self.observations) & set(self.outcomes)
            if both:
                raise ValueError(
                    f"{sorted(both)} listed as observations and outcomes: one topic holding "
                    "both kinds is events with kind"
                )
        elif not self.events:
            raise ValueError("list observations and outcomes, or events with kind")
        elif self.kind is None:
            raise ValueError(
                "events holds both kinds: say how they are told apart with kind = "
                '{ field = "...", observation = "...", outcome = "..." } (or header = "...")'
            )
        return self

    def all(self) -> tuple[str, ...]:
        """Every topic read, observations first."""
        return (*self.observations, *self.outcomes, *self.events)


class FormatSpec(_Spec):
    """How records are written: JSON, or Avro through a schema registry."""

    type: FormatType = "json"
    #: The schema registry's URL; without it the ``DRIFTLINE_SCHEMA_REGISTRY_URL`` setting.
    registry: str | None = None
    #: An Avro schema (an ``.avsc`` file) records are read as (resolved from the writer's).
    reader_schema: Path | None = None
    #: One reader schema per kind (observations and outcomes are two record types), for
    #: sources whose kinds have topics apart.
    reader_schemas: dict[Literal["observation", "outcome"], Path] | None = None

    @field_validator("registry")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None and not re.match(r"^https?://[^\s/]+", url):
            raise ValueError(f"registry is an http:// or https:// URL, not {url!r}")
        return url

    @model_validator(mode="after")
    def _avro_only(self) -> FormatSpec:
        if self.type != "avro":
            for key in ("registry", "reader_schema", "reader_schemas"):
                if getattr(self, key) is not None:
                    raise ValueError(f'{key} applies to type = "avro" only')
        if self.reader_schema is not None and self.reader_schemas is not None:
            raise ValueError(
                "give reader_schema (every record) or reader_schemas (one per kind), not both"
            )
        return self


class _Mapped(_Spec):
    """What both kinds map: the event id, the event time and how it is written."""

    event_id: str
    event_time: str
    time: TimeUnit = "iso"
    #: The zone of naive ISO times (an IANA name); epoch times are UTC.
    timezone: str = "UTC"

    @field_validator("event_id", "event_time")
    @classmethod
    def _mapped_paths(cls, path: str) -> str:
        return check_path(path)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        return _check_zone(name)

    @model_validator(mode="after")
    def _zone_applies(self) -> _Mapped:
        if self.time != "iso" and "timezone" in self.model_fields_set and self.timezone != "UTC":
            raise ValueError(
                f"timezone applies to ISO times only; epoch times ({self.time}) count from "
                "1970-01-01 UTC"
            )
        return self


class ObservationSpec(_Mapped):
    """An observation's fields: its entity key and its features, listed or all but some."""

    key: str
    features: tuple[str, ...] | None = None
    features_except: tuple[str, ...] | None = None

    @field_validator("key")
    @classmethod
    def _key_path(cls, path: str) -> str:
        return check_path(path)

    @field_validator("features")
    @classmethod
    def _listed(cls, paths: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if paths is None:
            return None
        if not paths:
            raise ValueError("list at least one feature (or use features_except = [])")
        for path in paths:
            check_path(path)
            if len(path) > _MAX_FEATURE_NAME:
                raise ValueError(f"feature {path[:40]!r}... is longer than 128 characters")
        if len(set(paths)) != len(paths):
            raise ValueError(f"a feature is listed twice in {list(paths)}")
        return paths

    @field_validator("features_except")
    @classmethod
    def _top_level(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for name in names or ():
            if "." in check_path(name):
                raise ValueError(f"features_except names top-level fields, not {name!r}")
        return names

    @model_validator(mode="after")
    def _one_way(self) -> ObservationSpec:
        if (self.features is None) == (self.features_except is None):
            raise ValueError(
                "give features (the fields to use) or features_except (all top-level "
                "fields but these), one of the two"
            )
        return self


class OutcomeSpec(_Mapped):
    """An outcome's fields: its label (through an optional value map) and, optionally, the
    entity key; without it the outcome names its observation by event id only."""

    key: str | None = None
    label: str
    labels: dict[str, Label] | None = None

    @field_validator("key", "label")
    @classmethod
    def _outcome_paths(cls, path: str | None) -> str | None:
        return None if path is None else check_path(path)

    @field_validator("labels", mode="before")
    @classmethod
    def _value_map(cls, labels: Any) -> Any:
        if not isinstance(labels, dict):
            return labels
        if not labels:
            raise ValueError("a value map names at least one raw value")
        mapped: dict[str, Any] = {}
        for raw, label in labels.items():
            if not isinstance(label, bool | int | float | str):
                raise ValueError(
                    f"{label_text(raw)!r} maps to {label!r}: a label is a boolean, a number or text"
                )
            if isinstance(label, float) and not math.isfinite(label):
                raise ValueError(f"{label_text(raw)!r} maps to {label}: not a finite number")
            mapped[label_text(raw)] = label
        return mapped


class SourceSpec(_Spec):
    """A user's source: ``[topics]``, ``[format]``, ``[observation]``, ``[outcome]``."""

    topic_layout: TopicsSpec = Field(alias="topics")
    format: FormatSpec = FormatSpec()
    observation: ObservationSpec
    outcome: OutcomeSpec

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _schemas_by_kind(self) -> SourceSpec:
        if self.format.reader_schemas is not None and self.topic_layout.events:
            raise ValueError(
                "[format].reader_schemas needs observations and outcomes in topics of their "
                "own (one topic holding both kinds is read with one reader_schema)"
            )
        return self

    def reader_schema_paths(self) -> dict[str, Path]:
        """The reader schema of each input topic that has one."""
        fmt, layout = self.format, self.topic_layout
        if fmt.reader_schema is not None:
            return dict.fromkeys(self.topics(), fmt.reader_schema)
        by_kind = fmt.reader_schemas or {}
        paths: dict[str, Path] = {}
        if "observation" in by_kind:
            paths |= dict.fromkeys(layout.observations, by_kind["observation"])
        if "outcome" in by_kind:
            paths |= dict.fromkeys(layout.outcomes, by_kind["outcome"])
        return paths

    @property
    def route_by_event_id(self) -> bool:
        """True when outcomes carry no entity key: then both kinds are routed (partitioned)
        by event id, and an outcome's ``key`` is its event id."""
        return self.outcome.key is None

    def topics(self) -> tuple[str, ...]:
        """Every input topic, observations first (the ``[topics]`` table is
        :attr:`topic_layout`)."""
        return self.topic_layout.all()
