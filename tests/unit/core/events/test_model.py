"""The event models: in step with their Avro schemas, strict about times and numbers, and
one base model for the fields both events share."""

from __future__ import annotations

import math
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import fastavro
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from driftline.core.events import model as events
from driftline.core.events.model import Label, Observation, Outcome, avro_schema
from driftline.core.times import MAX_EVENT_TIME, MIN_EVENT_TIME, from_millis

MODELS: dict[str, type[Observation] | type[Outcome]] = {
    "observation": Observation,
    "outcome": Outcome,
}
KINDS = sorted(MODELS)
T0 = datetime(2013, 1, 1, 10, 15, tzinfo=UTC)
AVRO_PRIMITIVES: dict[str, type] = {
    "null": type(None),
    "boolean": bool,
    "long": int,
    "double": float,
    "string": str,
}


def _python_type(annotation: Any) -> Any:
    """The plain type behind an annotation: ``Annotated`` metadata (Strict, Field) stripped."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _python_type(typing.get_args(annotation)[0])
    return annotation


def _union_members(annotation: Any) -> set[type]:
    origin = typing.get_origin(annotation)
    assert origin in (typing.Union, types.UnionType), f"{annotation} is not a union"
    return {_python_type(member) for member in typing.get_args(annotation)}


def _avro_union_members(avro_type: list[str]) -> set[type]:
    assert isinstance(avro_type, list), f"{avro_type} is not an Avro union"
    return {AVRO_PRIMITIVES[name] for name in avro_type}


def _assert_same_type(kind: str, name: str, avro_type: Any, annotation: Any) -> None:
    where = f"{kind}.{name}"
    if avro_type == "string":
        assert _python_type(annotation) is str, where
    elif isinstance(avro_type, dict) and avro_type.get("logicalType") == "timestamp-micros":
        assert avro_type["type"] == "long", where
        assert _python_type(annotation) is datetime, where
    elif isinstance(avro_type, dict) and avro_type["type"] == "map":
        assert typing.get_origin(annotation) is dict, where
        key, value = typing.get_args(annotation)
        assert _python_type(key) is str, where  # Avro map keys are always strings
        assert _union_members(value) == _avro_union_members(avro_type["values"]), where
    elif isinstance(avro_type, list):
        assert _union_members(annotation) == _avro_union_members(avro_type), where
    else:  # a new Avro type this test does not know yet: teach it, don't skip it
        pytest.fail(f"{where}: no rule to compare Avro type {avro_type!r} with {annotation!r}")


def observation(**changes: Any) -> dict[str, Any]:
    return {"event_id": "f1", "key": "EWR", "event_time": T0, "features": {"x": 1}} | changes


def outcome(**changes: Any) -> dict[str, Any]:
    return {"event_id": "f1", "key": "EWR", "event_time": T0, "label": True} | changes


def valid(kind: str, **changes: Any) -> dict[str, Any]:
    return observation(**changes) if kind == "observation" else outcome(**changes)


# -- the Avro schemas and the models agree ----------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_avro_schema_parses(kind: str) -> None:
    parsed = fastavro.parse_schema(avro_schema(kind))
    assert parsed["type"] == "record"
    assert parsed["name"].endswith(MODELS[kind].__name__)


@pytest.mark.parametrize("kind", KINDS)
def test_same_field_names_in_the_same_order(kind: str) -> None:
    avro_names = [field["name"] for field in avro_schema(kind)["fields"]]
    assert avro_names == list(MODELS[kind].model_fields)


@pytest.mark.parametrize("kind", KINDS)
def test_same_required_fields(kind: str) -> None:
    for field in avro_schema(kind)["fields"]:
        model_field = MODELS[kind].model_fields[field["name"]]
        has_avro_default = "default" in field
        assert model_field.is_required() is not has_avro_default, field["name"]


@pytest.mark.parametrize("kind", KINDS)
def test_same_field_types(kind: str) -> None:
    model_fields = MODELS[kind].model_fields
    for field in avro_schema(kind)["fields"]:
        annotation = model_fields[field["name"]].annotation
        _assert_same_type(kind, field["name"], field["type"], annotation)


def test_label_union_is_the_label_type() -> None:
    label_avro = next(f for f in avro_schema("outcome")["fields"] if f["name"] == "label")
    assert _avro_union_members(label_avro["type"]) == _union_members(Label)


@pytest.mark.parametrize("kind", KINDS)
def test_a_valid_event_is_accepted_and_knows_its_kind(kind: str) -> None:
    event = MODELS[kind](**valid(kind))
    assert event.kind == kind


# -- event times ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("naive", [datetime(2013, 1, 1, 10, 15), "2013-01-01T10:15:00"])
def test_naive_time_is_rejected_with_a_time_zone_hint(kind: str, naive: Any) -> None:
    with pytest.raises(ValidationError, match="time zone"):
        MODELS[kind](**valid(kind, event_time=naive))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "absurd",
    [
        datetime(1900, 1, 1, tzinfo=UTC),
        datetime(2200, 1, 1, tzinfo=UTC),
        "1900-01-01T00:00:00Z",
        "2200-06-01T12:00:00+02:00",
        datetime(1970, 1, 1, tzinfo=UTC),  # the epoch itself: a zero where a time should be
        "1970-01-16T13:00:00Z",  # where epoch seconds read as milliseconds land
        datetime(1989, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),  # just before the bounds
        "1990-01-01T00:30:00+01:00",  # 1989-12-31 23:30 UTC: the offset decides
        datetime(2100, 1, 1, tzinfo=UTC),  # the upper bound is exclusive
    ],
    ids=repr,
)
def test_absurd_time_is_rejected(kind: str, absurd: Any) -> None:
    with pytest.raises(ValidationError, match="event_time"):
        MODELS[kind](**valid(kind, event_time=absurd))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "number",
    [
        int(T0.timestamp()),  # epoch seconds of a sane time: still refused, the unit is unknown
        int(T0.timestamp()) * 1_000,  # the same instant in milliseconds
        T0.timestamp(),  # a float
        int(T0.timestamp()) * 1_000_000,  # microseconds: far beyond any sane date
        1e10,  # epoch seconds with a digit too many: year 2286
        0,
        -1,
    ],
    ids=repr,
)
def test_epoch_number_is_rejected_as_ambiguous(kind: str, number: int | float) -> None:
    with pytest.raises(ValidationError, match="epoch number is ambiguous") as caught:
        MODELS[kind](**valid(kind, event_time=number))
    assert [error["loc"] for error in caught.value.errors()] == [("event_time",)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("flag", [True, False], ids=repr)
def test_boolean_event_time_is_rejected(kind: str, flag: bool) -> None:
    with pytest.raises(ValidationError, match="event_time"):
        MODELS[kind](**valid(kind, event_time=flag))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "edge",
    [datetime(1990, 1, 1, tzinfo=UTC), datetime(2099, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)],
    ids=str,
)
def test_times_at_the_bounds_are_accepted(kind: str, edge: datetime) -> None:
    assert MODELS[kind](**valid(kind, event_time=edge)).event_time == edge


def test_the_lower_bound_is_1990() -> None:
    bounds = (MIN_EVENT_TIME, MAX_EVENT_TIME)
    assert bounds == (datetime(1990, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("kind", KINDS)
def test_seconds_read_as_milliseconds_is_rejected(kind: str) -> None:
    # 2013 in epoch seconds, handed to a millisecond reader, lands on 1970-01-16
    mistaken = from_millis(int(T0.timestamp()))
    assert mistaken.year == 1970
    with pytest.raises(ValidationError, match="event_time"):
        MODELS[kind](**valid(kind, event_time=mistaken))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "aware",
    [
        datetime(2013, 1, 1, 5, 15, tzinfo=ZoneInfo("America/New_York")),
        datetime(2013, 1, 1, 19, 15, tzinfo=ZoneInfo("Asia/Tokyo")),
        datetime(2013, 1, 1, 11, 45, tzinfo=timezone(timedelta(hours=1, minutes=30))),
        "2013-01-01T05:15:00-05:00",
    ],
    ids=str,
)
def test_aware_time_is_converted_to_utc(kind: str, aware: Any) -> None:
    event = MODELS[kind](**valid(kind, event_time=aware))
    assert event.event_time.utcoffset() == timedelta(0)
    assert event.event_time.tzinfo == UTC
    assert event.event_time == T0  # the same instant
    assert (event.event_time.hour, event.event_time.minute) == (10, 15)  # UTC wall clock


def test_conversion_near_a_bound_uses_the_utc_instant() -> None:
    # 2099-12-31 20:00 in New York is 2100-01-01 01:00 UTC: outside, though its wall clock is not
    late = datetime(2099, 12, 31, 20, 0, tzinfo=ZoneInfo("America/New_York"))
    with pytest.raises(ValidationError, match="event_time"):
        Observation(**observation(event_time=late))


# -- numbers -------------------------------------------------------------------------------
NON_FINITE = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("value", NON_FINITE, ids=str)
def test_non_finite_feature_is_rejected(value: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        Observation(**observation(features={"ok": 1.5, "bad": value}))


@pytest.mark.parametrize("value", NON_FINITE, ids=str)
def test_non_finite_label_is_rejected(value: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        Outcome(**outcome(label=value))


def test_feature_types_are_preserved_exactly() -> None:
    features = {
        "flag": True,
        "off": False,
        "one": 1,
        "zero": 0,
        "ratio": 1.0,
        "name": "1",
        "missing": None,
    }
    kept = Observation(**observation(features=features)).features
    assert {k: type(v) for k, v in kept.items()} == {k: type(v) for k, v in features.items()}
    assert kept == features


@pytest.mark.parametrize("label", [True, False, 1, 0, 1.0, 0.5, "1", "late"], ids=repr)
def test_label_type_is_preserved_exactly(label: Any) -> None:
    kept = Outcome(**outcome(label=label)).label
    assert type(kept) is type(label)
    assert kept == label


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}, object()], ids=repr)
def test_feature_value_outside_the_avro_union_is_rejected(value: Any) -> None:
    with pytest.raises(ValidationError):
        Observation(**observation(features={"x": value}))


# -- ids and shape ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("field", ["event_id", "key"])
def test_empty_id_is_rejected(kind: str, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        MODELS[kind](**valid(kind, **{field: ""}))


def test_empty_feature_name_is_rejected() -> None:
    with pytest.raises(ValidationError, match="features"):
        Observation(**observation(features={"": 1}))


@pytest.mark.parametrize("kind", KINDS)
def test_extra_field_is_rejected(kind: str) -> None:
    with pytest.raises(ValidationError, match="extra"):
        MODELS[kind](**valid(kind, surprise=1))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("field", ["event_id", "key", "event_time"])
def test_missing_field_is_rejected(kind: str, field: str) -> None:
    fields = valid(kind)
    del fields[field]
    with pytest.raises(ValidationError, match=field):
        MODELS[kind](**fields)


@pytest.mark.parametrize("kind", KINDS)
def test_events_are_frozen(kind: str) -> None:
    event = MODELS[kind](**valid(kind))
    with pytest.raises(ValidationError):
        event.key = "JFK"  # type: ignore[misc]
    assert event.key == "EWR"


LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


BEYOND_LONG = st.one_of(
    st.integers(min_value=LONG_MAX + 1),
    st.integers(max_value=LONG_MIN - 1),
)


@given(BEYOND_LONG)
@example(LONG_MAX + 1)
@example(LONG_MIN - 1)
def test_feature_int_beyond_avro_long_is_refused(value: int) -> None:
    # fastavro would write it as a double: 2**63 would come back as 9.223372036854776e18
    with pytest.raises(ValueError, match="64-bit"):
        Observation(event_id="f1", key="k", event_time=T0, features={"x": value})


@given(BEYOND_LONG)
@example(LONG_MAX + 1)
@example(LONG_MIN - 1)
def test_label_int_beyond_avro_long_is_refused(value: int) -> None:
    with pytest.raises(ValueError, match="64-bit"):
        Outcome(event_id="f1", key="k", event_time=T0, label=value)


NEW_YEAR_2024 = datetime(2024, 1, 1, tzinfo=UTC)


# -- one base model for the fields both events share --------------------------------------------
def test_events_share_one_base_model() -> None:
    EventBase = events.EventBase  # noqa: N806
    assert issubclass(Observation, EventBase) and issubclass(Outcome, EventBase)
    shared = ["event_id", "key", "event_time"]
    assert list(EventBase.model_fields) == shared
    for model in (Observation, Outcome):
        assert list(model.model_fields)[:3] == shared
        assert not set(shared) & set(model.__dict__.get("__annotations__", {})), model
        assert model.model_config["frozen"] and model.model_config["extra"] == "forbid"
    assert list(Observation.model_fields) == [*shared, "features"]
    assert list(Outcome.model_fields) == [*shared, "label"]


def test_shared_validators_apply_to_both_events() -> None:
    for model, extra in ((Observation, {"features": {}}), (Outcome, {"label": True})):
        with pytest.raises(ValueError, match="epoch number"):
            model(event_id="a", key="k", event_time=1_700_000_000, **extra)
        with pytest.raises(ValueError, match="no time zone"):
            model(event_id="a", key="k", event_time="2024-01-01T00:00:00", **extra)
        event = model(event_id="a", key="k", event_time="2024-01-01T01:00:00+01:00", **extra)
        assert event.event_time == NEW_YEAR_2024 and event.event_time.tzinfo is UTC
        assert list(event.model_dump())[:3] == ["event_id", "key", "event_time"]
