"""Event times as users' records write them: ISO-8601 text or an epoch number in a unit.

:func:`parse_event_time` reads one into an aware UTC datetime within driftline's bounds
(:data:`~driftline.core.times.MIN_EVENT_TIME`, :data:`~driftline.core.times.MAX_EVENT_TIME`),
or raises :class:`~driftline.core.errors.EventValidationError` saying what it got.

>>> parse_event_time("2024-03-01T09:30:00+01:00", "iso").isoformat()
'2024-03-01T08:30:00+00:00'
>>> parse_event_time("2024-07-01 09:30", "iso", "America/New_York").isoformat()
'2024-07-01T13:30:00+00:00'
>>> parse_event_time(1_709_285_400_250, "epoch_ms").isoformat()
'2024-03-01T09:30:00.250000+00:00'
>>> parse_event_time("1709285400", "epoch_s").isoformat()
'2024-03-01T09:30:00+00:00'
>>> parse_event_time(1_709_285_400, "epoch_ms")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
driftline.core.errors.EventValidationError: event time 1970-01-20T18:48:05.400000+00:00 \
is outside ...

A ``datetime`` (what Avro's ``timestamp-millis`` and ``timestamp-micros`` decode to) is
taken as it is whatever the unit; a naive one is read in the zone, as ISO text is.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from driftline.core.errors import EventValidationError
from driftline.core.times import EPOCH, to_utc

__all__ = ["TIME_UNITS", "TimeUnit", "parse_event_time", "zone"]

#: How a record writes its event time: ISO-8601 text, or a number of seconds,
#: milliseconds or microseconds since 1970-01-01 UTC.
TimeUnit = Literal["iso", "epoch_s", "epoch_ms", "epoch_us"]
TIME_UNITS: Final[tuple[TimeUnit, ...]] = ("iso", "epoch_s", "epoch_ms", "epoch_us")

#: Microseconds in one unit of each epoch unit.
_MICROS: Final = {"epoch_s": 1_000_000, "epoch_ms": 1_000, "epoch_us": 1}
_INTEGER = re.compile(r"^\s*[-+]?\d+\s*$")


@functools.lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The time zone of an IANA name (``"Europe/Paris"``, ``"UTC"``), cached.

    >>> zone("UTC")
    zoneinfo.ZoneInfo(key='UTC')
    >>> zone("Mars/Olympus")
    Traceback (most recent call last):
    ...
    driftline.core.errors.EventValidationError: unknown time zone 'Mars/Olympus' (give an IANA \
name such as 'Europe/Paris')
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise EventValidationError(
            f"unknown time zone {name!r} (give an IANA name such as 'Europe/Paris')"
        ) from exc


def parse_event_time(value: Any, unit: TimeUnit, timezone: str = "UTC") -> datetime:
    """The aware UTC event time ``value`` writes in ``unit``; naive ISO text (and naive
    datetimes) are read in ``timezone``. Epoch numbers are UTC by definition.

    >>> parse_event_time("2024-03-01T09:30:00Z", "iso").isoformat()
    '2024-03-01T09:30:00+00:00'
    >>> parse_event_time(1_709_285_400_000_001, "epoch_us").isoformat()
    '2024-03-01T09:30:00.000001+00:00'
    >>> parse_event_time(1709285400, "iso")
    Traceback (most recent call last):
    ...
    driftline.core.errors.EventValidationError: expected ISO-8601 text, got the number 1709285400 \
(an epoch time? set time = "epoch_s", "epoch_ms" or "epoch_us")
    """
    if isinstance(value, datetime):
        return _aware(value, timezone)
    if unit == "iso":
        return _from_iso(value, timezone)
    return _from_epoch(value, unit)


def _aware(value: datetime, timezone: str) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        value = value.replace(tzinfo=zone(timezone), fold=0)
    try:
        return to_utc(value)
    except OverflowError as exc:
        raise EventValidationError(f"event time {value.isoformat()} is out of range") from exc


def _from_iso(value: Any, timezone: str) -> datetime:
    if not isinstance(value, str):
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            raise EventValidationError(
                f"expected ISO-8601 text, got the number {value!r} (an epoch time? set "
                'time = "epoch_s", "epoch_ms" or "epoch_us")'
            )
        raise EventValidationError(f"expected ISO-8601 text, got {_what(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise EventValidationError(f"{value[:64]!r} is not an ISO-8601 time") from None
    return _aware(parsed, timezone)


def _from_epoch(value: Any, unit: TimeUnit) -> datetime:
    micros_per = _MICROS[unit]
    number = _number(value, unit)
    try:
        if isinstance(number, int):
            moment = EPOCH + timedelta(microseconds=number * micros_per)
        else:
            moment = EPOCH + timedelta(microseconds=round(number * micros_per))
    except OverflowError as exc:
        raise EventValidationError(f"epoch time {value!r} ({unit}) is out of range") from exc
    return to_utc(moment)


def _number(value: Any, unit: TimeUnit) -> int | float:
    """The epoch number ``value`` holds (an int, a float, a Decimal or numeric text)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise EventValidationError(f"expected an epoch number ({unit}), got {_what(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if _INTEGER.match(value):
            return int(value)
        try:
            value = float(value)
        except ValueError:
            raise EventValidationError(
                f"expected an epoch number ({unit}), got the text {value[:64]!r}"
            ) from None
    if isinstance(value, Decimal):
        try:
            value = float(value)
        except (
            InvalidOperation,
            OverflowError,
            ValueError,
        ):  # pragma: no cover - float() of a Decimal
            raise EventValidationError(f"epoch time {value!r} is not a number") from None
    if not math.isfinite(value):
        raise EventValidationError(f"epoch time {value} is not finite")
    return value


def _what(value: Any) -> str:
    """A short description of a value of the wrong type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {value!r}"
    return f"a {type(value).__name__} ({repr(value)[:40]})"
