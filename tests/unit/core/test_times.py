"""The epoch helpers: seconds and milliseconds, absurd numbers refused, exact
microseconds, and the producers use these and no copy of their own."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core import times
from driftline.core.errors import EventValidationError
from driftline.core.times import from_millis, to_millis


def test_from_epoch_seconds_and_milliseconds() -> None:
    from_epoch = times.from_epoch
    assert datetime(1970, 1, 1, tzinfo=UTC) == times.EPOCH
    assert from_epoch(1_700_000_000, "s") == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert from_epoch(1_700_000_000_123, "ms") == datetime(
        2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC
    )
    assert from_epoch(1_700_000_000.5, "s").microsecond == 500_000


@pytest.mark.parametrize(
    ("number", "unit", "match"),
    [
        (math.inf, "s", "not finite"),
        (math.nan, "ms", "not finite"),
        (10**30, "s", "out of range"),
        (1_700_000_000, "ms", "outside"),  # seconds read as milliseconds: January 1970
        (1_700_000_000_000, "s", "out of range|outside"),  # milliseconds read as seconds
    ],
)
def test_from_epoch_refuses_absurd_numbers(number: float, unit: Any, match: str) -> None:
    with pytest.raises(EventValidationError, match=match):
        times.from_epoch(number, unit)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_epoch_micros_is_exact(naive: datetime) -> None:
    value = naive.replace(tzinfo=UTC)
    micros = times.epoch_micros(value)
    EPOCH = times.EPOCH  # noqa: N806
    assert EPOCH + timedelta(microseconds=micros) == value
    assert to_millis(value) == micros // 1000
    if -(2**52) < micros < 2**52:
        assert from_millis(micros // 1000) == EPOCH + timedelta(milliseconds=micros // 1000)


def test_producers_use_the_shared_epoch_helpers() -> None:
    from driftline.producers import tabular
    from driftline.producers.flights import events as flights

    EPOCH, from_epoch = times.EPOCH, times.from_epoch  # noqa: N806
    for module in (tabular, flights):
        assert not hasattr(module, "_EPOCH"), module
        assert not hasattr(module, "_EPOCH_DT"), module
    assert not hasattr(tabular, "_epoch")
    assert tabular.parse_time(1_700_000_000_123, time_unit="ms") == from_epoch(
        1_700_000_000_123, "ms"
    )
    stamps = pd.Series(pd.to_datetime(["2013-01-01 10:15:00", "2013-06-30 23:59:59"], utc=True))
    assert flights._epoch_seconds(stamps) == [
        (t.to_pydatetime() - EPOCH) // timedelta(seconds=1) for t in stamps
    ]
