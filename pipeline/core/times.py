"""Time-zone handling: every event time is an aware UTC datetime within sane bounds.

>>> to_utc(datetime(2013, 1, 1, 5, 15, tzinfo=ZoneInfo("America/New_York"))).isoformat()
'2013-01-01T10:15:00+00:00'
>>> localize(datetime(2013, 7, 1, 5, 15), "America/Los_Angeles").isoformat()
'2013-07-01T12:15:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.errors import EventValidationError

__all__ = ["MAX_EVENT_TIME", "MIN_EVENT_TIME", "from_millis", "localize", "to_millis", "to_utc"]

#: Earliest and latest event times an event may carry; anything outside is absurd. A unit
#: mistake lands outside: epoch seconds read as milliseconds fall in January 1970, epoch
#: milliseconds read as seconds tens of thousands of years ahead.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
    return (value - _EPOCH) // timedelta(milliseconds=1)


def from_millis(millis: int) -> datetime:
    """The aware UTC datetime of a millisecond epoch timestamp (Kafka's record clock).

    >>> from_millis(1000).isoformat()
    '1970-01-01T00:00:01+00:00'
    """
    return datetime.fromtimestamp(millis / 1000, tz=UTC)
