"""What a reader of a stored prediction gets: probabilities named by the label's JSON form,
the positive probability of a binary classifier, the format, old records read, new refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from driftline.adapters.prediction_record import (
    RECORD_FORMAT,
    decode_hash,
    decode_stream_entry,
    encode_hash,
    encode_stream,
)
from driftline.adapters.stored_prediction import label_name, positive_probability
from driftline.core.errors import DecodeError
from driftline.core.events.records import Prediction

AT = datetime(2024, 6, 1, 8, tzinfo=UTC)


def _prediction(label: Any, probabilities: dict[Any, float] | None) -> Prediction:
    return Prediction("K", "e1", 0, 1, AT, AT, AT, label, probabilities, 2)


@pytest.mark.parametrize(
    ("label", "probabilities", "names", "positive"),
    [
        (False, {True: 0.25, False: 0.75}, {"true": 0.25, "false": 0.75}, 0.25),
        (0, {1: 0.25, 0: 0.75}, {"1": 0.25, "0": 0.75}, 0.25),
        ("no", {"yes": 0.25, "no": 0.75}, {'"yes"': 0.25, '"no"': 0.75}, None),
        (2, {0: 0.2, 1: 0.3, 2: 0.5}, {"0": 0.2, "1": 0.3, "2": 0.5}, None),
        (False, {False: 1.0}, {"false": 1.0}, 0.0),  # True not seen yet: still binary
        (12.5, None, None, None),  # a regressor
    ],
)
def test_a_label_finds_its_probability_whatever_its_type(
    label: Any, probabilities: dict[Any, float] | None, names: Any, positive: float | None
) -> None:
    prediction = _prediction(label, probabilities)
    hashed = decode_hash("K", encode_hash(prediction))
    streamed = decode_stream_entry("1-0", encode_stream(prediction))
    for read in (hashed, streamed):
        assert read.format == RECORD_FORMAT == 1
        assert read.probabilities == names
        assert read.positive_probability == positive
        if probabilities is None:
            assert read.probability_of(label) is None
            continue
        assert read.probabilities[json.dumps(read.prediction)] == probabilities[label]
        assert read.probability_of(read.prediction) == probabilities[label]
        assert read.probability_of("a class never seen") == 0.0
        assert read.to_dict()["positive_probability"] == positive
        assert read.to_dict()["format"] == 1


def test_positive_probability_is_true_or_one() -> None:
    assert positive_probability({False: 0.4, True: 0.6}) == 0.6
    assert positive_probability({0: 0.4, 1: 0.6}) == 0.6
    assert positive_probability({0: 0.4, 1: 0.5, 2: 0.1}) is None
    assert positive_probability({}) is None
    assert label_name(True) != label_name(1) != label_name("1")


def _format_0(fields: dict[str, str], probabilities: str) -> dict[str, str]:
    """``fields`` as a worker of format 0 wrote them: ``str(label)`` names, no format."""
    old = {k: v for k, v in fields.items() if k not in ("format", "positive_probability")}
    return old | {"probabilities": probabilities}


@pytest.mark.parametrize(
    ("label", "probabilities", "old_names", "names", "positive"),
    [
        (False, {True: 0.25, False: 0.75}, {"True": 0.25, "False": 0.75},
         {"true": 0.25, "false": 0.75}, 0.25),
        (1, {1: 0.6, 0: 0.4}, {"1": 0.6, "0": 0.4}, {"1": 0.6, "0": 0.4}, 0.6),
        ("EWR", {"EWR": 0.9, "JFK": 0.1}, {"EWR": 0.9, "JFK": 0.1},
         {'"EWR"': 0.9, '"JFK"': 0.1}, None),
        (2.5, None, None, None, None),
    ],
)  # fmt: skip
def test_records_of_format_0_are_read_as_format_1(
    label: Any,
    probabilities: dict[Any, float] | None,
    old_names: dict[str, float] | None,
    names: dict[str, float] | None,
    positive: float | None,
) -> None:
    prediction = _prediction(label, probabilities)
    old_hash = _format_0(encode_hash(prediction), json.dumps(old_names))
    old_entry = _format_0(encode_stream(prediction), json.dumps(old_names))
    for read in (decode_hash("K", old_hash), decode_stream_entry("1-0", old_entry)):
        assert read.format == 0
        assert read.probabilities == names
        assert read.positive_probability == positive
        if probabilities is not None:
            assert read.probability_of(label) == probabilities[label]


def test_a_record_of_a_later_format_is_refused_not_misread() -> None:
    fields = encode_hash(_prediction(True, {True: 1.0})) | {"format": "2"}
    with pytest.raises(DecodeError, match="format 2, written by a newer driftline") as caught:
        decode_hash("K", fields)
    assert caught.value.reason == "unknown-record-format"
    entry = encode_stream(_prediction(True, {True: 1.0})) | {"format": "2"}
    with pytest.raises(DecodeError, match="unknown-record-format"):
        decode_stream_entry("1-0", entry)
