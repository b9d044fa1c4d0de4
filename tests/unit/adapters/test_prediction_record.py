"""The stored prediction record: what the sink writes reads back as it was meant."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from driftline.adapters import prediction_record as _record
from driftline.adapters.prediction_record import (
    HASH_FIELDS,
    STREAM_FIELDS,
    StoredPrediction,
    StreamEntry,
    decode_hash,
    decode_stream_entry,
    encode_hash,
    encode_stream,
    epoch_micros,
    json_label,
    label_name,
)
from driftline.adapters.stored_prediction import positive_probability
from driftline.core.events.records import Prediction

T0 = datetime(2024, 6, 1, 8, 0, 0, 123_456, tzinfo=UTC)


def _prediction(
    prediction: Any = True,
    probabilities: dict[Any, float] | None = None,
    *,
    key: str = "EWR",
    at: datetime = T0,
) -> Prediction:
    return Prediction(
        key=key,
        event_id=f"e-{key}",
        partition=2,
        offset=41,
        event_time=at,
        ingest_time=at + timedelta(seconds=3),
        predicted_time=at + timedelta(seconds=4),
        prediction=prediction,
        probabilities=probabilities,
        model_version=7,
    )


def _as_redis_returns(fields: dict[str, str]) -> dict[bytes, bytes]:
    """What HGETALL / XREAD hand back with ``decode_responses`` off: UTF-8 bytes."""
    return {name.encode(): value.encode() for name, value in fields.items()}


def _hash_round_trip(prediction: Prediction) -> StoredPrediction:
    return decode_hash(prediction.key, _as_redis_returns(encode_hash(prediction)))


def _stream_round_trip(prediction: Prediction) -> StreamEntry:
    return decode_stream_entry(b"1717228800123-0", _as_redis_returns(encode_stream(prediction)))


def _bits(probabilities: dict[str, float] | None) -> dict[str, str] | None:
    """Probabilities as the exact bits of each float (``-0.0`` differs from ``0.0``)."""
    return None if probabilities is None else {k: v.hex() for k, v in probabilities.items()}


# -- strategies -------------------------------------------------------------------------
_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
_times = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31), timezones=_zones
)
_class_labels = st.one_of(st.booleans(), st.integers(), st.text(max_size=12))
_labels = st.one_of(
    _class_labels,
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.tuples(st.integers(), st.text(max_size=3)),  # not a JSON scalar: stored as str()
)
_probabilities = st.one_of(
    st.none(),  # a regressor
    st.dictionaries(_class_labels, st.floats(allow_nan=False, allow_infinity=False), max_size=6),
)


@st.composite
def predictions(draw: st.DrawFn) -> Prediction:
    at = draw(_times)
    return Prediction(
        key=draw(st.text(min_size=1, max_size=20)),
        event_id=draw(st.text(max_size=20)),
        partition=draw(st.integers(0, 10_000)),
        offset=draw(st.integers(0, 2**63 - 1)),
        event_time=at,
        ingest_time=at + timedelta(microseconds=draw(st.integers(0, 10**10))),
        predicted_time=at + timedelta(microseconds=draw(st.integers(0, 10**10))),
        prediction=draw(_labels),
        probabilities=draw(_probabilities),
        model_version=draw(st.integers(0, 2**31)),
        model=draw(st.text(max_size=10)),
        decision=draw(st.none() | _labels),
        threshold=draw(st.none() | st.floats(0.0, 1.0)),
    )


def _expected_decision(prediction: Prediction) -> object:
    """What a reader gets: the decision, or the prediction itself when none was made."""
    decided = prediction.prediction if prediction.decision is None else prediction.decision
    return json_label(decided)


def _expected_probabilities(prediction: Prediction) -> dict[str, float] | None:
    if prediction.probabilities is None:
        return None
    return {label_name(k): float(v) for k, v in prediction.probabilities.items()}


# -- round trips ------------------------------------------------------------------------
@given(prediction=predictions())
def test_hash_round_trip(prediction: Prediction) -> None:
    stored = _hash_round_trip(prediction)
    assert stored == StoredPrediction(
        key=prediction.key,
        prediction=json_label(prediction.prediction),
        probabilities=_expected_probabilities(prediction),
        model_version=prediction.model_version,
        event_id=prediction.event_id,
        event_time=prediction.event_time,
        ingest_time=prediction.ingest_time,
        predicted_time=prediction.predicted_time,
        partition=prediction.partition,
        offset=prediction.offset,
        model=prediction.model,
        decision=_expected_decision(prediction),
        threshold=prediction.threshold,
        positive_probability=positive_probability(prediction.probabilities),
        format=1,
    )
    assert _bits(stored.probabilities) == _bits(_expected_probabilities(prediction))
    assert stored.event_time.utcoffset() == prediction.event_time.utcoffset()
    assert json.loads(json.dumps(stored.to_dict()))["probabilities"] == stored.probabilities


@given(prediction=predictions())
def test_stream_round_trip(prediction: Prediction) -> None:
    entry = _stream_round_trip(prediction)
    assert entry == StreamEntry(
        id="1717228800123-0",
        key=prediction.key,
        event_id=prediction.event_id,
        prediction=json_label(prediction.prediction),
        probabilities=_expected_probabilities(prediction),
        event_time=prediction.event_time,
        model_version=prediction.model_version,
        model=prediction.model,
        decision=_expected_decision(prediction),
        positive_probability=positive_probability(prediction.probabilities),
        format=1,
    )
    assert _bits(entry.probabilities) == _bits(_expected_probabilities(prediction))
    assert json.loads(json.dumps(entry.to_dict())) == entry.to_dict()


@given(prediction=predictions())
def test_decodes_text_fields_too(prediction: Prediction) -> None:
    """A client made with ``decode_responses=True`` hands back str, not bytes."""
    assert decode_hash(prediction.key, encode_hash(prediction)) == _hash_round_trip(prediction)
    assert decode_stream_entry("1717228800123-0", encode_stream(prediction)) == (
        _stream_round_trip(prediction)
    )


def test_probabilities_are_stored_exactly() -> None:
    """Not rounded: the model's float comes back bit for bit, from the hash and the stream."""
    probabilities = {True: 0.1234567891234, False: 1 - 0.1234567891234}
    prediction = _prediction(False, probabilities)
    expected = {"true": 0.1234567891234, "false": 1 - 0.1234567891234}
    assert _bits(_hash_round_trip(prediction).probabilities) == _bits(expected)
    assert _bits(_stream_round_trip(prediction).probabilities) == _bits(expected)


@pytest.mark.parametrize(
    ("label", "stored"),
    [
        (True, True),
        (False, False),
        (1, 1),
        (0, 0),
        ("1", "1"),
        ("EWR", "EWR"),
        (2.5, 2.5),
        (None, None),
        (("a", 1), "('a', 1)"),  # not a JSON scalar: its str()
    ],
)
def test_labels_keep_their_json_type(label: Any, stored: Any) -> None:
    prediction = _prediction(label, {label: 1.0} if label is not None else None)
    for decoded in (_hash_round_trip(prediction), _stream_round_trip(prediction)):
        assert decoded.prediction == stored
        assert type(decoded.prediction) is type(stored)  # True stays bool, 1 stays int
        if label is not None:
            assert decoded.probabilities == {json.dumps(stored): 1.0}
            assert decoded.probability_of(decoded.prediction) == 1.0


def test_regression_has_no_probabilities() -> None:
    prediction = _prediction(12.75, None)
    assert encode_hash(prediction)["probabilities"] == "null"
    assert encode_stream(prediction)["probabilities"] == "null"
    assert _hash_round_trip(prediction).probabilities is None
    assert _stream_round_trip(prediction).probabilities is None
    assert _hash_round_trip(prediction).prediction == 12.75


def test_non_ascii_keys_and_labels() -> None:
    probabilities = {"Zürich": 0.25, "東京": 0.5, "🛫": 0.25}
    prediction = _prediction("東京", probabilities, key="São Paulo/Guarulhos ✈")
    stored = _hash_round_trip(prediction)
    assert stored.key == "São Paulo/Guarulhos ✈" and stored.prediction == "東京"
    assert stored.probabilities == {json.dumps(k): v for k, v in probabilities.items()}
    assert stored.probability_of("東京") == 0.5
    entry = _stream_round_trip(prediction)
    assert entry.key == "São Paulo/Guarulhos ✈"
    assert entry.probabilities == stored.probabilities


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_refused(bad: float) -> None:
    """Strict JSON has no NaN or Infinity: the encoders raise, the caller decides."""
    for encode in (encode_hash, encode_stream):
        with pytest.raises(ValueError, match="JSON compliant"):
            encode(_prediction(True, {True: bad, False: 0.5}))
        with pytest.raises(ValueError, match="JSON compliant"):
            encode(_prediction(bad, None))


# -- the format itself ------------------------------------------------------------------
def test_field_names_are_the_documented_ones() -> None:
    """The README's "Redis key schema" names these fields; renaming one breaks readers."""
    prediction = _prediction(True, {True: 0.75, False: 0.25})
    assert tuple(encode_hash(prediction)) == HASH_FIELDS
    assert HASH_FIELDS == (
        "prediction",
        "probabilities",
        "model_version",
        "event_id",
        "event_time",
        "event_time_us",
        "ingest_time",
        "predicted_time",
        "partition",
        "offset",
        "model",
        "decision",
        "threshold",
        "config",
        "positive_probability",
        "format",
    )
    assert tuple(encode_stream(prediction)) == STREAM_FIELDS
    assert STREAM_FIELDS == (
        "key",
        "event_id",
        "prediction",
        "probabilities",
        "event_time",
        "model_version",
        "model",
        "decision",
        "config",
        "positive_probability",
        "format",
    )


def test_encoded_values_are_what_redis_keeps() -> None:
    fields = encode_hash(_prediction(True, {True: 0.75, False: 0.25}))
    assert fields == {
        "prediction": "true",
        "probabilities": '{"true": 0.75, "false": 0.25}',
        "model_version": "7",
        "event_id": "e-EWR",
        "event_time": "2024-06-01T08:00:00.123456+00:00",
        "event_time_us": "1717228800123456",
        "ingest_time": "2024-06-01T08:00:03.123456+00:00",
        "predicted_time": "2024-06-01T08:00:04.123456+00:00",
        "partition": "2",
        "offset": "41",
        "model": "",
        "decision": "true",
        "threshold": "null",
        "config": "",
        "positive_probability": "0.75",
        "format": "1",
    }


def test_a_cost_aware_decision_is_stored_beside_the_prediction() -> None:
    at = datetime(2024, 6, 1, 8, tzinfo=UTC)
    prediction = Prediction(
        "N123", "e1", 0, 5, at, at, at, False, {True: 0.3, False: 0.7}, 12,
        model="lr", decision=True, threshold=0.1667, config="0123456789abcdef",
    )  # fmt: skip
    fields = encode_hash(prediction)
    assert (fields["prediction"], fields["decision"], fields["threshold"]) == (
        "false",
        "true",
        "0.1667",
    )
    assert fields["config"] == encode_stream(prediction)["config"] == "0123456789abcdef"
    stored = decode_hash("N123", _as_redis_returns(fields))
    assert stored.config == "0123456789abcdef" == stored.to_dict()["config"]
    entry = decode_stream_entry(b"1-0", _as_redis_returns(encode_stream(prediction)))
    assert entry.config == "0123456789abcdef" == entry.to_dict()["config"]
    stored = decode_hash("N123", fields)
    assert (stored.model, stored.decision, stored.threshold) == ("lr", True, 0.1667)


def test_records_written_before_decisions_still_read() -> None:
    fields = encode_hash(_prediction(True, {True: 0.75, False: 0.25}))
    for name in ("model", "decision", "threshold"):
        del fields[name]
    stored = decode_hash("EWR", fields)
    assert (stored.model, stored.decision, stored.threshold) == ("", True, None)


@given(
    at=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_zones)
)
def test_event_time_us_is_exact(at: datetime) -> None:
    micros = epoch_micros(at)
    assert isinstance(micros, int)
    assert datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros) == at


@given(a=_times, b=_times)
def test_event_time_us_orders_like_event_time(a: datetime, b: datetime) -> None:
    """The sink's stale-write check compares ``event_time_us``: it must agree with time."""
    assert (epoch_micros(a) < epoch_micros(b)) == (a < b)
    assert (epoch_micros(a) == epoch_micros(b)) == (a == b)


# -- the hand-written JSON is json.dumps's, byte for byte ---------------------------------------


_LABELS = st.one_of(
    st.booleans(),
    st.integers(),
    st.text(max_size=6),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(st.dictionaries(_LABELS, st.floats(allow_nan=False, allow_infinity=False), max_size=5))
@example({False: 0.0, "False": 0.5})  # one JSON name under str(): two now
@example({(1,): 0.5, "(1,)": 0.25})  # one JSON name: a tuple is stored as its str()
def test_probabilities_json_is_json_dumps(probabilities):
    expected = json.dumps(
        {label_name(k): float(v) for k, v in probabilities.items()}, allow_nan=False
    )
    assert _record._probabilities_json(probabilities) == expected


@given(_LABELS)
def test_label_json_is_json_dumps(label):
    assert _record._label_json(label) == json.dumps(_record.json_label(label), allow_nan=False)


def test_non_finite_probabilities_are_refused_as_before():
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError):
            _record._probabilities_json({True: bad})


def test_equal_labels_of_other_types_keep_their_own_names():
    """A cache of names must not hand one label the name of an equal one of another type."""
    for first, second in (((1,), (True,)), (0.0, -0.0), (1, True), (1, 1.0)):
        assert _record._probabilities_json({first: 0.5}) == json.dumps({label_name(first): 0.5})
        assert _record._probabilities_json({second: 0.5}) == json.dumps({label_name(second): 0.5})
