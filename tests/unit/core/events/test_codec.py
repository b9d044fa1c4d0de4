"""EventCodec: lossless round trips, the Confluent header, a reason code for every
defect, and the fast decoding path that builds exactly what pydantic would."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from driftline.core.errors import DecodeError, EventValidationError, SchemaViolation
from driftline.core.events.codec import _FAST, _MODELS, MAGIC_BYTE, EventCodec
from driftline.core.events.model import Event, EventKind, Observation, Outcome, avro_schema

CODEC = EventCodec()
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
T0 = datetime(2013, 1, 1, 10, 15, tzinfo=UTC)

# -- strategies ------------------------------------------------------------------------------
ids = st.text(min_size=1, max_size=40)
feature_names = st.text(min_size=1, max_size=20)
feature_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(LONG_MIN, LONG_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
labels = st.one_of(
    st.booleans(),
    st.integers(LONG_MIN, LONG_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
# any microsecond in the accepted range, given in UTC or another zone (converted on the way in)
event_times = st.one_of(
    st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2099, 12, 31, 23, 59, 59, 999_999),
        timezones=st.just(UTC),
    ),
    st.datetimes(
        min_value=datetime(1990, 1, 2),  # a day of room for any zone's offset
        max_value=datetime(2099, 12, 30),
        timezones=st.timezones(),
    ),
)
observations = st.builds(
    Observation,
    event_id=ids,
    key=ids,
    event_time=event_times,
    features=st.dictionaries(feature_names, feature_values, max_size=8),
)
outcomes = st.builds(Outcome, event_id=ids, key=ids, event_time=event_times, label=labels)
events = st.one_of(observations, outcomes)


def typed(value: Any) -> Any:
    """``value`` with the type of every leaf beside it, so True != 1 != 1.0."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    return (type(value), value)


def same_event(decoded: Event, original: Event) -> None:
    assert type(decoded) is type(original)
    assert typed(decoded.model_dump()) == typed(original.model_dump())
    assert decoded.event_time.utcoffset() == timedelta(0)


def header(schema_id: int, magic: int = MAGIC_BYTE) -> bytes:
    return bytes([magic]) + schema_id.to_bytes(4, "big")


def raw_avro(kind: EventKind, fields: dict[str, Any], schema_id: int | None = None) -> bytes:
    """Wire bytes written straight with fastavro: no model stands in the way."""
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(avro_schema(kind)), fields)
    return header(schema_id or {"observation": 1, "outcome": 2}[kind]) + buffer.getvalue()


def reason_of(raw: bytes | None) -> str:
    with pytest.raises(DecodeError) as caught:
        CODEC.decode(raw)
    return caught.value.reason


GOOD_OBSERVATION = Observation(
    event_id="f1", key="EWR", event_time=T0, features={"distance": 1400, "carrier": "UA"}
)
GOOD_OUTCOME = Outcome(event_id="f1", key="EWR", event_time=T0, label=True)


# -- round trips -------------------------------------------------------------------------------
@given(observations)
@example(
    Observation(
        event_id="b",
        key="k",
        event_time=T0,
        features={"t": True, "one": 1, "f": 1.0, "s": "1", "n": None},
    )
)
@example(
    Observation(
        event_id="x",
        key="k",
        event_time=T0,
        features={"lo": LONG_MIN, "hi": LONG_MAX, "neg0": -0.0},
    )
)
def test_observation_round_trip(obs: Observation) -> None:
    same_event(CODEC.decode(CODEC.encode(obs)), obs)


@given(outcomes)
@example(Outcome(event_id="b", key="k", event_time=T0, label=True))
@example(Outcome(event_id="b", key="k", event_time=T0, label=1))
@example(Outcome(event_id="b", key="k", event_time=T0, label=1.0))
@example(Outcome(event_id="b", key="k", event_time=T0, label="1"))
def test_outcome_round_trip(out: Outcome) -> None:
    same_event(CODEC.decode(CODEC.encode(out)), out)


@pytest.mark.parametrize("value", [LONG_MIN, LONG_MAX], ids=str)
def test_ints_at_the_avro_long_bounds_round_trip(value: int) -> None:
    obs = Observation(event_id="f1", key="k", event_time=T0, features={"x": value})
    same_event(CODEC.decode(CODEC.encode(obs)), obs)
    out = Outcome(event_id="f1", key="k", event_time=T0, label=value)
    same_event(CODEC.decode(CODEC.encode(out)), out)


# -- text that UTF-8 cannot carry ----------------------------------------------------------------
LONE_SURROGATES = ["\ud800", "a\udfffb", "\udc80"]


@pytest.mark.parametrize("text", LONE_SURROGATES, ids=ascii)
def test_surrogate_feature_value_is_an_event_validation_error(text: str) -> None:
    obs = Observation(event_id="f1", key="k", event_time=T0, features={"x": text})
    with pytest.raises(EventValidationError, match="cannot be encoded") as caught:
        CODEC.encode(obs)
    assert "observation 'f1'" in str(caught.value)
    assert isinstance(caught.value.__cause__, UnicodeEncodeError)


@pytest.mark.parametrize("text", LONE_SURROGATES, ids=ascii)
def test_surrogate_label_is_an_event_validation_error(text: str) -> None:
    out = Outcome(event_id="f1", key="k", event_time=T0, label=text)
    with pytest.raises(EventValidationError, match="cannot be encoded") as caught:
        CODEC.encode(out)
    assert "outcome 'f1'" in str(caught.value)


def test_surrogate_in_an_unvalidated_event_is_an_event_validation_error() -> None:
    # model_construct skips pydantic's own check of the id: encode still refuses cleanly
    obs = Observation.model_construct(event_id="\ud800", key="k", event_time=T0, features={})
    with pytest.raises(EventValidationError, match="cannot be encoded"):
        CODEC.encode(obs)


@given(st.text(st.characters(categories=["Cs"]), min_size=1, max_size=5))
def test_any_surrogate_text_is_refused_by_encode(text: str) -> None:
    obs = Observation(event_id="f1", key="k", event_time=T0, features={"x": text})
    with pytest.raises(EventValidationError):
        CODEC.encode(obs)


# -- the Confluent header ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "schema_id"), [(GOOD_OBSERVATION, 1), (GOOD_OUTCOME, 2)], ids=["obs", "out"]
)
def test_header_is_magic_byte_then_big_endian_schema_id(event: Event, schema_id: int) -> None:
    raw = CODEC.encode(event)
    assert raw[0] == 0
    assert raw[1:5] == struct.pack(">I", schema_id)


class WideRegistry:
    """Ids that need more than one byte, to show the byte order."""

    IDS: dict[EventKind, int] = {"observation": 0x01020304, "outcome": 70_000}

    def id_for(self, kind: EventKind) -> int:
        return self.IDS[kind]

    def kind_for(self, schema_id: int) -> EventKind | None:
        return {v: k for k, v in self.IDS.items()}.get(schema_id)


def test_schema_ids_come_from_the_registry_big_endian() -> None:
    codec = EventCodec(WideRegistry())
    raw = codec.encode(GOOD_OBSERVATION)
    assert raw[:5] == b"\x00\x01\x02\x03\x04"
    assert codec.encode(GOOD_OUTCOME)[1:5] == (70_000).to_bytes(4, "big")
    same_event(codec.decode(raw), GOOD_OBSERVATION)
    # the default registry does not know these ids
    assert reason_of(raw) == "unknown-schema"


# -- every defect has its reason -----------------------------------------------------------------
def test_none_value_is_empty_value() -> None:
    assert reason_of(None) == "empty-value"


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\x00\x00\x00\x00"], ids=len)
def test_fewer_than_five_bytes_is_truncated(raw: bytes) -> None:
    assert reason_of(raw) == "truncated"


@pytest.mark.parametrize("magic", [1, 0x7F, 0x80, 0xFF])
def test_wrong_magic_byte(magic: int) -> None:
    raw = bytes([magic]) + CODEC.encode(GOOD_OBSERVATION)[1:]
    assert reason_of(raw) == "bad-magic-byte"


@pytest.mark.parametrize("schema_id", [0, 5, 256, 2**32 - 1])  # 3: ticks, 4: control
def test_unknown_schema_id(schema_id: int) -> None:
    raw = header(schema_id) + CODEC.encode(GOOD_OBSERVATION)[5:]
    assert reason_of(raw) == "unknown-schema"


@pytest.mark.parametrize(
    "body",
    [
        b"",  # header alone
        b"\x80",  # an unfinished varint
        b"\x02\xff",  # a one-byte string that is not UTF-8
        b"\x02a\x02k",  # stops before the event time
        b"\x7f",  # a string longer than what follows
    ],
    ids=repr,
)
def test_garbage_body_is_avro_decode(body: bytes) -> None:
    assert reason_of(header(1) + body) == "avro-decode"


def test_outcome_body_read_as_observation_fails() -> None:
    # an outcome's body under the observation's schema id: the label is no map
    raw = (
        header(1) + CODEC.encode(Outcome(event_id="f1", key="k", event_time=T0, label="x" * 40))[5:]
    )
    assert reason_of(raw) in {"avro-decode", "trailing-bytes"}


@pytest.mark.parametrize("extra", [b"\x00", b"junk"], ids=repr)
@pytest.mark.parametrize("event", [GOOD_OBSERVATION, GOOD_OUTCOME], ids=["obs", "out"])
def test_extra_trailing_bytes(event: Event, extra: bytes) -> None:
    assert reason_of(CODEC.encode(event) + extra) == "trailing-bytes"


BASE_OBS = {"event_id": "f1", "key": "EWR", "event_time": T0, "features": {"x": 1.0}}
BASE_OUT = {"event_id": "f1", "key": "EWR", "event_time": T0, "label": 1.0}


@pytest.mark.parametrize(
    ("kind", "fields", "where"),
    [
        ("observation", BASE_OBS | {"features": {"x": float("nan")}}, "features"),
        ("observation", BASE_OBS | {"features": {"x": float("inf")}}, "features"),
        ("observation", BASE_OBS | {"event_time": datetime(1900, 1, 1, tzinfo=UTC)}, "event_time"),
        # epoch seconds written where microseconds belong: a time in January 1970
        ("observation", BASE_OBS | {"event_time": datetime(1970, 1, 16, tzinfo=UTC)}, "event_time"),
        ("outcome", BASE_OUT | {"event_time": datetime(1989, 12, 31, tzinfo=UTC)}, "event_time"),
        ("observation", BASE_OBS | {"event_time": datetime(2200, 1, 1, tzinfo=UTC)}, "event_time"),
        ("observation", BASE_OBS | {"event_id": ""}, "event_id"),
        ("observation", BASE_OBS | {"features": {"": 1}}, "features"),
        ("outcome", BASE_OUT | {"label": float("-inf")}, "label"),
        ("outcome", BASE_OUT | {"key": ""}, "key"),
    ],
    ids=[
        "nan-feature",
        "inf-feature",
        "year-1900",
        "january-1970",
        "year-1989",
        "year-2200",
        "empty-id",
        "empty-name",
        "inf-label",
        "empty-key",
    ],
)
def test_body_that_breaks_the_model_is_schema_violation(
    kind: EventKind, fields: dict[str, Any], where: str
) -> None:
    raw = raw_avro(kind, fields)
    with pytest.raises(SchemaViolation) as caught:
        CODEC.decode(raw)
    assert caught.value.reason == "schema-violation"
    assert where in caught.value.detail
    assert kind in caught.value.detail


def test_raw_fastavro_body_that_keeps_the_rules_decodes() -> None:
    # the control for the test above: the same writer, valid fields
    assert CODEC.decode(raw_avro("observation", BASE_OBS)) == Observation(**BASE_OBS)


@pytest.mark.parametrize(
    "raw",
    [None, b"", b"\x01\x00\x00\x00\x01", header(9), header(1), CODEC.encode(GOOD_OUTCOME) + b"x"],
    ids=["empty", "short", "magic", "schema", "avro", "trailing"],
)
def test_only_the_model_check_is_a_schema_violation(raw: bytes | None) -> None:
    with pytest.raises(DecodeError) as caught:
        CODEC.decode(raw)
    assert not isinstance(caught.value, SchemaViolation)


# -- decode never raises anything but DecodeError ------------------------------------------------
def _mutations(draw: st.DrawFn) -> bytes:
    raw = bytearray(CODEC.encode(draw(events)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(raw) - 1))
        raw[position] = draw(st.integers(0, 255))
    return bytes(raw[: draw(st.integers(0, len(raw)))]) if draw(st.booleans()) else bytes(raw)


wire_bytes = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda h, b: h + b, st.sampled_from([header(1), header(2)]), st.binary()),
    st.composite(_mutations)(),
)


@given(wire_bytes)
@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
def test_decode_returns_an_event_or_raises_decode_error(raw: bytes) -> None:
    try:
        event = CODEC.decode(raw)
    except DecodeError as exc:
        assert exc.reason in {
            "truncated",
            "bad-magic-byte",
            "unknown-schema",
            "avro-decode",
            "trailing-bytes",
            "schema-violation",
        }
    else:
        assert isinstance(event, Observation | Outcome)
        # Avro allows several encodings of one value (long varints, split map blocks), so the
        # bytes need not match; the event must survive its own round trip
        same_event(CODEC.decode(CODEC.encode(event)), event)


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
