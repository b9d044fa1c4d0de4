"""Hypothesis strategies of table cells (numbers, plain text, times) and how a cell is written."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

from driftline.core.errors import EventValidationError
from driftline.core.events.model import FeatureValue
from driftline.core.times import MAX_EVENT_TIME, MIN_EVENT_TIME
from driftline.producers.tabular import parse_csv_value

#: Epoch seconds of 2023-11-14 22:13:20 UTC: a sane event time for tables of numbers.
T_S = 1_700_000_000
#: Epoch seconds of MIN_EVENT_TIME (1990-01-01 UTC) and of MAX_EVENT_TIME (2100-01-01 UTC).
MIN_S = int(MIN_EVENT_TIME.timestamp())
MAX_S = int(MAX_EVENT_TIME.timestamp())


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def at_s(seconds: float) -> datetime:
    """The UTC time of an epoch in seconds."""
    return datetime.fromtimestamp(seconds, UTC)


def cell_of(value: FeatureValue) -> str:
    """How a writer would put a typed value in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


TEXT_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
TEXT = st.text(TEXT_CHARS)


def is_plain_text(text: str) -> bool:
    try:
        return isinstance(parse_csv_value(text), str)
    except EventValidationError:
        return False


PLAIN_TEXT = TEXT.filter(is_plain_text)
FEATURES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    PLAIN_TEXT,
)
