"""The codec's fast path builds exactly what pydantic would, and nothing pydantic refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from driftline.core.errors import EventValidationError
from driftline.core.events.codec import _FAST, _MODELS

TEXT = st.one_of(st.text(max_size=3), st.text(min_size=120, max_size=300))
TIMES = st.one_of(
    st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(
        [
            datetime(1990, 1, 1, tzinfo=UTC),
            datetime(1990, 1, 1, tzinfo=UTC) - timedelta(microseconds=1),
            datetime(2100, 1, 1, tzinfo=UTC),
            datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=2))),
        ]
    ),
)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.text(max_size=5),
)


def _same(kind: str, fields: dict[str, Any]) -> None:
    fast = _FAST[kind](dict(fields))  # type: ignore[index]
    try:
        slow = _MODELS[kind].model_validate(dict(fields))  # type: ignore[index]
    except (ValidationError, EventValidationError):
        assert fast is None, fields  # whatever pydantic refuses, the fast path leaves to it
        return
    if fast is not None:
        assert fast == slow and fast.model_dump() == slow.model_dump()
        assert type(fast.event_time.tzinfo) is type(slow.event_time.tzinfo)


@settings(max_examples=500, deadline=None)
@given(
    event_id=TEXT,
    key=TEXT,
    when=TIMES,
    features=st.dictionaries(TEXT, VALUES, max_size=4),
)
def test_observations(event_id: str, key: str, when: datetime, features: dict[str, Any]):
    _same(
        "observation", {"event_id": event_id, "key": key, "event_time": when, "features": features}
    )


@settings(max_examples=300, deadline=None)
@given(event_id=TEXT, key=TEXT, when=TIMES, label=VALUES.filter(lambda v: v is not None))
def test_outcomes(event_id: str, key: str, when: datetime, label: Any):
    _same("outcome", {"event_id": event_id, "key": key, "event_time": when, "label": label})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_value_is_left_to_pydantic(bad: float):
    fields = {"event_id": "e", "key": "k", "event_time": datetime(2024, 1, 1, tzinfo=UTC)}
    assert _FAST["observation"](fields | {"features": {"x": bad}}) is None
    assert _FAST["outcome"](fields | {"label": bad}) is None


def test_an_ordinary_event_takes_the_fast_path():
    fields = {"event_id": "e", "key": "k", "event_time": datetime(2024, 1, 1, tzinfo=UTC)}
    assert _FAST["observation"](fields | {"features": {"x": 1.5, "c": "UA", "m": None}})
    assert _FAST["outcome"](fields | {"label": True})
