"""The two events driftline carries, as pydantic models beside their Avro schemas.

The Avro schemas in ``pipeline/core/events/schemas/*.avsc`` are the wire contract (what a schema
registry would hold); the models add the rules Avro cannot say (aware UTC times, finite
numbers, sane bounds). ``tests/unit/core/events/test_model.py`` keeps the two in step.

>>> obs = Observation(event_id="f1", key="EWR", event_time="2013-01-01T10:15:00Z",
...                   features={"distance": 1400, "carrier": "UA", "temp": None})
>>> obs.event_time.isoformat()
'2013-01-01T10:15:00+00:00'
>>> Outcome(event_id="f1", key="EWR", event_time="2013-01-01T14:30:00Z", label=True).label
True
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
)

from driftline.core.events import schemas
from driftline.core.times import to_utc

__all__ = [
    "Event",
    "EventBase",
    "EventKind",
    "FeatureValue",
    "ID_MAX",
    "Label",
    "NAME_MAX",
    "Observation",
    "Outcome",
    "avro_schema",
]

EventKind = Literal["observation", "outcome"]
#: A raw feature: ``None`` marks a missing value (completeness is tracked, not hidden).
FeatureValue = StrictBool | StrictInt | StrictFloat | str | None
#: A label: a class (bool, int or str) or a regression target (float).
Label = StrictBool | StrictInt | StrictFloat | str

#: The longest event id and key, and the longest feature name, in characters.
ID_MAX = 256
NAME_MAX = 128
_Id = Annotated[str, Field(min_length=1, max_length=ID_MAX)]


_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _refuse_numbers(value: Any) -> Any:
    numeric_text = isinstance(value, str) and _NUMBER.match(value) is not None
    if numeric_text or (isinstance(value, int | float) and not isinstance(value, bool)):
        raise ValueError(
            "event time must be an aware datetime or an ISO 8601 string; an epoch number "
            "is ambiguous (seconds? milliseconds?): convert it where its unit is known"
        )
    return value


#: Avro's ``long``: integers outside it cannot travel as integers.
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _check_number(value: Any, what: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} is {value}; only finite numbers are allowed (use null)")
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if is_int and not _LONG_MIN <= value <= _LONG_MAX:
        raise ValueError(f"{what} is {value}, outside the 64-bit integer range")
    return value


class EventBase(BaseModel):
    """What every event carries: its id, the entity ``key`` and an aware UTC ``event_time``.

    Subclasses add their own fields after these three (pydantic keeps declaration order,
    and the Avro encoder writes :meth:`model_dump` as it comes).

    >>> list(Outcome.model_fields)
    ['event_id', 'key', 'event_time', 'label']
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: _Id
    key: _Id
    event_time: datetime

    @field_validator("event_time", mode="before")
    @classmethod
    def _no_epoch_numbers(cls, value: Any) -> Any:
        return _refuse_numbers(value)

    @field_validator("event_time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return to_utc(value)


class Observation(EventBase):
    """An event that asks for a prediction about the entity ``key``."""

    features: dict[Annotated[str, Field(min_length=1, max_length=NAME_MAX)], FeatureValue]

    @field_validator("features")
    @classmethod
    def _finite(cls, features: dict[str, FeatureValue]) -> dict[str, FeatureValue]:
        for name, value in features.items():
            _check_number(value, f"feature {name!r}")
        return features

    @property
    def kind(self) -> EventKind:
        return "observation"


class Outcome(EventBase):
    """A later event that resolves observation ``event_id`` with its ``label``."""

    label: Label

    @field_validator("label")
    @classmethod
    def _finite(cls, label: Label) -> Label:
        return _check_number(label, "label")

    @property
    def kind(self) -> EventKind:
        return "outcome"


Event = Observation | Outcome


def avro_schema(kind: EventKind) -> dict[str, Any]:
    """The Avro schema (parsed JSON) of an event kind, read once from the package."""
    return schemas.load(kind)
