"""A flight's outcome: whether it arrived late, known at its actual arrival.

The :class:`~driftline.core.events.model.Outcome` of a flight comes at the **actual
arrival** (scheduled arrival plus ``arr_delay`` minutes) and its label says whether the
flight arrived more than :data:`LATE_MINUTES` late.

Flights that never arrive, **cancelled** (no ``dep_time``) or **diverted** (departed but
no ``arr_delay``), are treated as the ``cancelled`` option (:data:`CancelledTreatment`)
says:

* ``"unlabelled"`` (default): the observation is yielded with outcome ``None``; it asks
  for a prediction whose label never comes, and the worker expires it;
* ``"delayed"``: the outcome is labelled ``True`` (late) at the scheduled arrival time,
  since a flight that never arrives does not get you there on time;
* ``"skip"``: the flight is not yielded at all.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from driftline.core.events.model import Outcome
from driftline.core.times import EPOCH

__all__ = ["LATE_MINUTES", "CancelledTreatment", "flight_outcome"]

#: A flight is late (label ``True``) when it arrives more than this many minutes late.
LATE_MINUTES = 15

CancelledTreatment = Literal["unlabelled", "delayed", "skip"]


def flight_outcome(
    event_id: str,
    key: str,
    scheduled_arrival_s: int,
    arr_delay: float,
    arrived: bool,
    cancelled: CancelledTreatment,
) -> Outcome | None:
    """The outcome of a flight scheduled to arrive ``scheduled_arrival_s`` seconds after the
    epoch, ``arr_delay`` minutes late (``NaN`` when it never ``arrived``).

    >>> at = 1_356_998_400  # 2013-01-01T00:00:00Z
    >>> late = flight_outcome("f1", "EWR", at, 20.0, True, "unlabelled")
    >>> late.event_time.isoformat(), late.label
    ('2013-01-01T00:20:00+00:00', True)
    >>> flight_outcome("f2", "EWR", at, float("nan"), False, "unlabelled") is None
    True
    >>> flight_outcome("f2", "EWR", at, float("nan"), False, "delayed").label
    True
    """
    if arrived:
        return Outcome(
            event_id=event_id,
            key=key,
            event_time=EPOCH + timedelta(seconds=scheduled_arrival_s, minutes=arr_delay),
            label=bool(arr_delay > LATE_MINUTES),
        )
    if cancelled == "delayed":
        return Outcome(
            event_id=event_id,
            key=key,
            event_time=EPOCH + timedelta(seconds=scheduled_arrival_s),
            label=True,
        )
    return None
