"""Feature steps: the one function that turns an observation into the model's input.

The same :class:`FeatureBuilder` serves predicting and learning: the task stores the
vector it predicted with and learns from exactly that vector when the outcome arrives,
so there is no training-serving skew by construction.

>>> from datetime import UTC, datetime
>>> from driftline.core.events.model import FeatureValue, Observation
>>> obs = Observation(event_id="1", key="EWR", event_time="2024-03-04T18:30:00Z",
...                   features={"distance": 1400, "carrier": "UA", "temp": None, "red": True})
>>> ingest = datetime(2024, 3, 4, 18, 30, 45, tzinfo=UTC)
>>> x = FeatureBuilder(FeatureConfig(calendar=False)).build(obs, ingest)
>>> x
{'distance': 1400.0, 'carrier': 'UA', 'red': 1.0, 'lateness_s': 45.0}
>>> FeatureBuilder(FeatureConfig(raw_only=True)).build(obs, ingest)
{'distance': 1400, 'carrier': 'UA', 'red': True}
>>> sorted(FeatureBuilder(FeatureConfig(lateness=False)).build(obs, ingest))[:4]
['carrier', 'day_of_week', 'distance', 'dow_cos']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from driftline.core.events.model import FeatureValue, Observation
from driftline.core.learning.history import DEFAULT_MAX_LABELS, DEFAULT_MAX_SLOTS

__all__ = ["FeatureBuilder", "FeatureConfig"]

_TAU = 2 * math.pi


@dataclass(frozen=True)
class FeatureConfig:
    """Which feature steps run.

    ``raw_only`` passes the observation's features through untouched (missing values
    dropped), the mode in which the worker equals River's own progressive validation.
    Otherwise: numbers as floats, booleans as 0/1, text kept as text (the model's own
    encoder one-hot encodes it: scaling a one-hot column would zero it), missing values
    left out (River models treat an absent key as missing), plus the
    calendar of the event time (UTC; hour, day of week and month, each also as a point
    on a circle so 23 h sits next to 0 h), the lateness in seconds, and the recent
    label rate of the entity and of each segment in ``history_groups``
    (:mod:`driftline.core.learning.history`), from at most ``history_max_slots`` (group, value)
    slots holding at most ``history_max_labels`` labels, the least recently used evicted.

    Bounds and descriptions (``Field``) are what the settings accept
    (:meth:`driftline.core.task.config.TaskConfig.field_info`); they are not checked here.
    """

    raw_only: Annotated[bool, Field(description="pass raw features through untouched")] = False
    calendar: bool = True
    lateness: bool = True
    history_groups: Annotated[
        tuple[str, ...],
        Field(description="segments whose recent label rate is a feature ('key': entity)"),
    ] = ("key",)
    history_alpha: Annotated[float, Field(gt=0, le=1)] = 0.2
    history_max_slots: Annotated[
        int,
        Field(
            ge=1,
            description="(segment, value) label rates kept per task; the least recently used go",
        ),
    ] = DEFAULT_MAX_SLOTS
    history_max_labels: Annotated[
        int,
        Field(
            ge=1,
            description="labels the label rates keep per task; the least recently used rates go",
        ),
    ] = DEFAULT_MAX_LABELS


class FeatureBuilder:
    """Build the model input of an observation given its ingest time."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self.config = config or FeatureConfig()

    def build(
        self,
        obs: Observation,
        ingest_time: datetime,
        features: Mapping[str, FeatureValue] | None = None,
    ) -> dict[str, Any]:
        """The model input of ``obs``; ``features`` replaces its raw features (the values
        a data contract made canonical)."""
        raw = obs.features if features is None else features
        if self.config.raw_only:
            return {k: v for k, v in raw.items() if v is not None}
        x: dict[str, Any] = {}
        for name, value in raw.items():
            if type(value) is float:  # the usual case first: float() would give it back
                x[name] = value
            elif value is None:
                continue
            elif isinstance(value, bool):
                x[name] = 1.0 if value else 0.0
            elif isinstance(value, int | float):
                x[name] = float(value)
            else:
                x[name] = value  # the model one-hot encodes text (see DEFAULT_MODEL)
        if self.config.calendar:
            x.update(calendar_features(obs.event_time))
        if self.config.lateness:
            x["lateness_s"] = (ingest_time - obs.event_time).total_seconds()
        return x


def calendar_features(when: datetime) -> dict[str, float]:
    """Hour, day of week (Monday 0) and month of ``when``, plain and cyclic.

    >>> from datetime import UTC, datetime
    >>> f = calendar_features(datetime(2024, 1, 1, 0, 0, tzinfo=UTC))
    >>> f["hour"], f["day_of_week"], f["month"], round(f["hour_cos"], 3)
    (0.0, 0.0, 1.0, 1.0)
    """
    hour = when.hour + when.minute / 60
    dow = float(when.weekday())
    month = float(when.month)
    return {
        "hour": float(when.hour),
        "hour_sin": math.sin(_TAU * hour / 24),
        "hour_cos": math.cos(_TAU * hour / 24),
        "day_of_week": dow,
        "dow_sin": math.sin(_TAU * dow / 7),
        "dow_cos": math.cos(_TAU * dow / 7),
        "month": month,
        "month_sin": math.sin(_TAU * (month - 1) / 12),
        "month_cos": math.cos(_TAU * (month - 1) / 12),
    }
