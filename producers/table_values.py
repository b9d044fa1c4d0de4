"""The typed values of a table's cells and its event times: a CSV cell's text as ``None``,
a boolean, an integer, a float or text, and an ISO 8601 string or an epoch number as an
aware UTC time. The rules are those of :mod:`driftline.producers.tabular`'s docstring.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from driftline.core.errors import EventValidationError
from driftline.core.events.model import FeatureValue
from driftline.core.times import EpochUnit, from_epoch, localize, to_utc

__all__ = ["MISSING_MARKERS", "TimeUnit", "parse_csv_value", "parse_time"]

TimeUnit = EpochUnit

#: CSV cells (compared case-insensitively, surrounding spaces ignored) that mean missing.
MISSING_MARKERS = frozenset({"", "na", "n/a", "null", "none", "nan"})

_INT = re.compile(r"[+-]?[0-9]+")
_LEADING_ZERO = re.compile(r"[+-]?0[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INFINITE = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})


def parse_csv_value(text: str) -> FeatureValue:
    """The typed value of a CSV cell (the rules: :mod:`driftline.producers.tabular`).

    >>> [parse_csv_value(cell) for cell in ["12", "1.5", "TRUE", "NA", "007", " x "]]
    [12, 1.5, True, None, '007', ' x ']
    """
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in MISSING_MARKERS:
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT.fullmatch(stripped):
        return text if _LEADING_ZERO.fullmatch(stripped) else int(stripped)
    if _FLOAT.fullmatch(stripped):
        number = float(stripped)
        if not math.isfinite(number):
            raise EventValidationError(f"number {stripped!r} is too large for a float")
        return number
    if lowered in _INFINITE:
        raise EventValidationError(f"{stripped!r} is not a finite number; use an empty cell")
    return text


def parse_time(value: Any, *, time_zone: str = "UTC", time_unit: TimeUnit = "s") -> datetime:
    """An event time (aware UTC) from an ISO 8601 string or an epoch number.

    >>> parse_time("2024-03-31 02:30", time_zone="Europe/Paris").isoformat()
    '2024-03-31T01:30:00+00:00'
    >>> parse_time(1700000000000, time_unit="ms").isoformat()
    '2023-11-14T22:13:20+00:00'
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise EventValidationError("empty time")
        if _FLOAT.fullmatch(text):
            return from_epoch(int(text) if _INT.fullmatch(text) else float(text), time_unit)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise EventValidationError(
                f"time {value!r} is neither ISO 8601 (e.g. '2024-01-01T09:00:00Z') "
                "nor an epoch number"
            ) from exc
        if parsed.tzinfo is None:
            return localize(parsed, time_zone)
        return to_utc(parsed)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return from_epoch(value, time_unit)
    if value is None:
        raise EventValidationError("missing time")
    raise EventValidationError(f"time {value!r} is neither a string nor a number")
