"""Time-zone handling: every event time is an aware UTC datetime within sane bounds.

>>> to_utc(datetime(2013, 1, 1, 5, 15, tzinfo=ZoneInfo("America/New_York"))).isoformat()
'2013-01-01T10:15:00+00:00'
>>> localize(datetime(2013, 7, 1, 5, 15), "America/Los_Angeles").isoformat()
'2013-07-01T12:15:00+00:00'
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from driftline.core.errors import EventValidationError

__all__ = [
    "EPOCH",
    "MAX_EVENT_TIME",
    "MIN_EVENT_TIME",
    "EpochUnit",
    "epoch_micros",
    "from_epoch",
    "from_millis",
    "localize",
    "to_millis",
    "to_utc",
]

#: The Unix epoch, aware UTC: what every epoch number counts from.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The unit of an epoch number: seconds or milliseconds.
EpochUnit = Literal["s", "ms"]

#: Earliest and latest event times an event may carry; anything outside is absurd. A unit
#: mistake lands outside: epoch seconds read as milliseconds fall in January 1970, epoch
#: milliseconds read as seconds tens of thousands of years ahead.
MIN_EVENT_TIME = datetime(1990, 1, 1, tzinfo=UTC)
MAX_EVENT_TIME = datetime(2100, 1, 1, tzinfo=UTC)


def to_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; refuse naive and absurd ones."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise EventValidationError(
            f"event time {value.isoformat()} has no time zone; give an aware UTC time "
            "(e.g. '2013-01-01T10:15:00Z')"
        )
    utc = value.astimezone(UTC)
    if not MIN_EVENT_TIME <= utc < MAX_EVENT_TIME:
        raise EventValidationError(
            f"event time {utc.isoformat()} is outside [{MIN_EVENT_TIME.date()}, "
            f"{MAX_EVENT_TIME.date()}): probably a unit or parsing mistake"
        )
    return utc


def localize(wall_time: datetime, zone: str) -> datetime:
    """Read a naive local wall-clock time in ``zone`` and return it in UTC.

    Ambiguous times (the repeated hour when clocks fall back) take the first occurrence;
    times in the spring-forward gap are read with the offset before the change, as
    :mod:`zoneinfo` does.
    """
    if wall_time.tzinfo is not None:
        raise EventValidationError("localize() takes a naive wall-clock time")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise EventValidationError(f"unknown time zone {zone!r}") from exc
    return to_utc(wall_time.replace(tzinfo=tz, fold=0))


def to_millis(value: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime.

    >>> to_millis(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    1000
    """
    return (value - EPOCH) // timedelta(milliseconds=1)


@functools.lru_cache(maxsize=1024)
def from_millis(millis: int) -> datetime:
    """The aware UTC datetime of a millisecond epoch timestamp (Kafka's record clock).

    Records of a batch share their milliseconds: each is converted once.

    >>> from_millis(1000).isoformat()
    '1970-01-01T00:00:01+00:00'
    """
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def epoch_micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly (integer arithmetic).

    >>> epoch_micros(datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC))
    1704067200000001
    >>> epoch_micros(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))
    -1
    """
    return (value - EPOCH) // timedelta(microseconds=1)


def from_epoch(number: int | float, unit: EpochUnit) -> datetime:
    """The event time (aware UTC) of an epoch number in ``unit``; refuse absurd ones.

    Non-finite numbers, numbers beyond what a datetime holds and times outside
    [:data:`MIN_EVENT_TIME`, :data:`MAX_EVENT_TIME`) (a unit mistake, mostly) raise
    :class:`~driftline.core.errors.EventValidationError`.

    >>> from_epoch(1_700_000_000, "s").isoformat()
    '2023-11-14T22:13:20+00:00'
    >>> from_epoch(1_700_000_000_250, "ms").isoformat()
    '2023-11-14T22:13:20.250000+00:00'
    >>> from_epoch(1_700_000_000, "ms")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    driftline.core.errors.EventValidationError: event time 1970-01-20T16:13:20+00:00 is outside ...
    """
    if isinstance(number, float) and not math.isfinite(number):
        raise EventValidationError(f"epoch time {number} is not finite")
    try:
        if unit == "ms":
            return to_utc(EPOCH + timedelta(milliseconds=number))
        return to_utc(EPOCH + timedelta(seconds=number))
    except OverflowError as exc:
        raise EventValidationError(f"epoch time {number} ({unit}) is out of range") from exc
