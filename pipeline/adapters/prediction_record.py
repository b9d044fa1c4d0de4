"""The stored prediction record: what the Redis sink writes and readers read, defined once.

A :class:`~driftline.core.events.records.Prediction` is stored twice: as the fields of the entity's
hash (the latest prediction, read back as a :class:`StoredPrediction`) and as an entry of the
predictions stream (read back as a :class:`StreamEntry`). Field names are the ones
``docs/`` documents under "Redis key schema". Every value is text, as Redis keeps it:

- ``format``: the record's version, :data:`RECORD_FORMAT` (``1``);
- ``prediction``: the label as JSON; a label that JSON cannot carry (neither ``bool``,
  ``int``, ``float``, ``str`` nor ``None``) is stored as its ``str()``.
- ``probabilities``: a JSON object, the label's JSON form (:func:`label_name`: the text of
  ``prediction``, so ``"true"`` for ``True``) to its probability, or ``null`` for a
  regressor. Probabilities are stored exactly as the model gave them: JSON writes a Python
  float with its shortest ``repr``, which reads back bit for bit.
- ``positive_probability``: a binary classifier's probability of the positive class
  (``True``, or ``1`` for 0/1 labels), ``null`` for any other model;
- times as ISO 8601; ``event_time_us`` as integer microseconds since the epoch (what the
  sink's stale-write check compares).

Records of format 0 (written before ``format`` existed: probabilities named by
``str(label)``, no positive probability) are still read: their names are turned into the
JSON forms by the prediction's type (``"True"`` is ``"true"`` beside a ``bool``
prediction, ``"3"`` stays ``"3"`` beside a number, text becomes a JSON string) and the
positive probability is worked out from them. A record of a later format than this code
knows is refused with a :class:`~driftline.core.errors.DecodeError` (``unknown-record-format``)
rather than misread.

JSON is written with ``allow_nan=False``: a non-finite probability or label is never
stored as ``NaN``/``Infinity`` (which strict JSON readers refuse); the encoders raise
:class:`ValueError` instead and the caller decides what to do with that prediction.

>>> from datetime import UTC, datetime
>>> at = datetime(2024, 6, 1, 8, 0, 0, 250, tzinfo=UTC)
>>> probabilities = {True: 0.1234567891234, False: 0.8765432108766}
>>> p = Prediction("EWR", "e1", 0, 7, at, at, at, False, probabilities, 3)
>>> fields = encode_hash(p)
>>> fields["probabilities"], fields["positive_probability"], fields["format"]
('{"true": 0.1234567891234, "false": 0.8765432108766}', '0.1234567891234', '1')
>>> stored = decode_hash("EWR", {k.encode(): v.encode() for k, v in fields.items()})
>>> stored.prediction, stored.probability_of(stored.prediction), stored.offset
(False, 0.8765432108766, 7)
>>> entry = decode_stream_entry(b"1-0", encode_stream(p))
>>> entry.id, entry.key, entry.model_version, entry.positive_probability
('1-0', 'EWR', 3, 0.1234567891234)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from driftline.adapters.format_0_records import format_0_positive, format_0_probabilities
from driftline.adapters.stored_prediction import (
    RECORD_FORMAT,
    StoredPrediction,
    StreamEntry,
    json_label,
    label_name,
    positive_probability,
)
from driftline.core.errors import DecodeError
from driftline.core.events.records import Prediction

__all__ = [
    "HASH_FIELDS",
    "RECORD_FORMAT",
    "STREAM_FIELDS",
    "EncodedValues",
    "StoredPrediction",
    "StreamEntry",
    "decode_hash",
    "decode_stream_entry",
    "encode_hash",
    "encode_stream",
    "encoded_values",
    "epoch_micros",
    "hash_items",
    "json_label",
    "label_name",
    "stream_items",
]

#: The hash's fields, in the order they are written.
HASH_FIELDS = (
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
#: A stream entry's fields, in the order they are written.
STREAM_FIELDS = (
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

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_FORMAT = str(RECORD_FORMAT)

Fields = Mapping[bytes, bytes] | Mapping[str, str]
#: What a hash and a stream entry share (:func:`encoded_values`): the label, the
#: probabilities and the decision as JSON, the event time as ISO 8601.
EncodedValues = tuple[str, str, str, str]


def epoch_micros(value: datetime) -> int:
    """Exact microseconds since the epoch of an aware datetime (integer arithmetic).

    >>> epoch_micros(datetime(2024, 6, 1, 8, 0, 0, 999_999, tzinfo=UTC))
    1717228800999999
    """
    return (value - _EPOCH) // _MICROSECOND


#: Ingest times repeat by the millisecond and a batch has one prediction time: each is
#: formatted once.
_iso = functools.lru_cache(maxsize=4096)(datetime.isoformat)


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False)


def _probabilities_json(probabilities: Mapping[Any, float] | None) -> str:
    """``json.dumps({label_name(label): float(p)}, allow_nan=False)``, written out: a
    float's JSON is its ``repr``, and each label's JSON name is made once
    (``docs/performance.md``, change 6)."""
    if probabilities is None:
        return "null"
    # two labels with one JSON form (a tuple and its str()) are one JSON name, as in
    # json.dumps: the first one's place, the last one's value
    named = {_json_name(label): float(p) for label, p in probabilities.items()}
    parts = []
    for name, value in named.items():
        _finite(value)
        parts.append(f"{name}: {value!r}")
    return "{" + ", ".join(parts) + "}"


def _finite(value: float) -> None:
    if value != value or value in (_INF, -_INF):
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")


_INF = float("inf")


def _json_name(label: Any) -> str:
    """The JSON string that names ``label`` in the probabilities object."""
    if type(label) in _CACHED:
        return _cached_json_name(label)
    # not cached: 0.0 and -0.0, or (1,) and (True,), are one key of a cache but two names
    return json.dumps(label_name(label))


_CACHED = (bool, int, str)


@functools.lru_cache(maxsize=1024, typed=True)  # typed: True and 1 are other labels
def _cached_json_name(label: Any) -> str:
    return json.dumps(label_name(label))


def _label_json(label: Any) -> str:
    if label is True:
        return "true"
    if label is False:
        return "false"
    return _dumps(json_label(label))


def _positive_json(probabilities: dict[Any, float] | None) -> str:
    positive = positive_probability(probabilities)
    if positive is None:
        return "null"
    _finite(positive)
    return repr(positive)


def encoded_values(prediction: Prediction) -> EncodedValues:
    """The values a hash and a stream entry share: the label, probabilities and decision
    as JSON and the event time as ISO 8601, computed once for both.

    Raises :class:`ValueError` if a probability or the label is NaN or infinite.
    """
    label = _label_json(prediction.prediction)
    decision = prediction.decision
    return (
        label,
        _probabilities_json(prediction.probabilities),
        prediction.event_time.isoformat(),
        label if decision is None or decision is prediction.prediction else _label_json(decision),
    )


def hash_items(prediction: Prediction, shared: EncodedValues | None = None) -> list[str]:
    """The hash fields of ``prediction`` as a flat name, value list, in :data:`HASH_FIELDS`
    order (``shared``: its :func:`encoded_values`, if already made)."""
    label, probabilities, event_time, decision = shared or encoded_values(prediction)
    threshold = prediction.threshold
    return [
        "prediction", label,
        "probabilities", probabilities,
        "model_version", str(prediction.model_version),
        "event_id", prediction.event_id,
        "event_time", event_time,
        "event_time_us", str(epoch_micros(prediction.event_time)),
        "ingest_time", _iso(prediction.ingest_time),
        "predicted_time", _iso(prediction.predicted_time),
        "partition", str(prediction.partition),
        "offset", str(prediction.offset),
        "model", prediction.model,
        "decision", decision,
        "threshold", "null" if threshold is None else repr(float(threshold)),
        "config", prediction.config,
        "positive_probability", _positive_json(prediction.probabilities),
        "format", _FORMAT,
    ]  # fmt: skip


def stream_items(prediction: Prediction, shared: EncodedValues | None = None) -> list[str]:
    """The stream-entry fields of ``prediction`` as a flat name, value list."""
    label, probabilities, event_time, decision = shared or encoded_values(prediction)
    return [
        "key", prediction.key,
        "event_id", prediction.event_id,
        "prediction", label,
        "probabilities", probabilities,
        "event_time", event_time,
        "model_version", str(prediction.model_version),
        "model", prediction.model,
        "decision", decision,
        "config", prediction.config,
        "positive_probability", _positive_json(prediction.probabilities),
        "format", _FORMAT,
    ]  # fmt: skip


def _pairs(items: list[str]) -> dict[str, str]:
    return dict(zip(items[::2], items[1::2], strict=True))


def encode_hash(prediction: Prediction) -> dict[str, str]:
    """The hash fields of ``prediction`` (see the module docstring for each value).

    Raises :class:`ValueError` if a probability or the label is NaN or infinite.
    """
    return _pairs(hash_items(prediction))


def encode_stream(prediction: Prediction) -> dict[str, str]:
    """The stream-entry fields of ``prediction``.

    Raises :class:`ValueError` if a probability or the label is NaN or infinite.
    """
    return _pairs(stream_items(prediction))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _texts(fields: Fields) -> dict[str, str]:
    """Field names and values as text, whether the client decodes responses or not."""
    return {_text(name): _text(value) for name, value in fields.items()}


class _Scored:
    """What both records share, read from their fields: the prediction, its probabilities
    (named by the label's JSON form, whatever the format), the positive probability, the
    decision and the format."""

    def __init__(self, text: dict[str, str]) -> None:
        self.format = int(text.get("format", "0"))
        if self.format > RECORD_FORMAT:
            raise DecodeError(
                "unknown-record-format",
                f"a prediction record of format {self.format}, written by a newer driftline; "
                f"this one reads formats 0 to {RECORD_FORMAT}",
            )
        self.prediction = json.loads(text["prediction"])
        probabilities: dict[str, float] | None = json.loads(text["probabilities"])
        # records of a worker older than champion and challengers have no decision
        self.decision = json.loads(text.get("decision", text["prediction"]))
        if self.format == 0:
            self.probabilities = format_0_probabilities(probabilities, self.prediction)
            self.positive = format_0_positive(self.probabilities)
        else:
            self.probabilities = probabilities
            self.positive = json.loads(text["positive_probability"])


def decode_hash(key: str, fields: Fields) -> StoredPrediction:
    """The :class:`StoredPrediction` of entity ``key`` from its hash fields (bytes or text).

    Raises :class:`~driftline.core.errors.DecodeError` for a record of a later format.
    """
    text = _texts(fields)
    scored = _Scored(text)
    return StoredPrediction(
        key=key,
        prediction=scored.prediction,
        probabilities=scored.probabilities,
        model_version=int(text["model_version"]),
        event_id=text["event_id"],
        event_time=datetime.fromisoformat(text["event_time"]),
        ingest_time=datetime.fromisoformat(text["ingest_time"]),
        predicted_time=datetime.fromisoformat(text["predicted_time"]),
        partition=int(text["partition"]),
        offset=int(text["offset"]),
        # records of a worker older than champion and challengers have none of these
        model=text.get("model", ""),
        decision=scored.decision,
        threshold=json.loads(text.get("threshold", "null")),
        config=text.get("config", ""),
        positive_probability=scored.positive,
        format=scored.format,
    )


def decode_stream_entry(entry_id: bytes | str, fields: Fields) -> StreamEntry:
    """The :class:`StreamEntry` of one ``XREAD``/``XRANGE`` entry (bytes or text).

    Raises :class:`~driftline.core.errors.DecodeError` for a record of a later format.
    """
    text = _texts(fields)
    scored = _Scored(text)
    return StreamEntry(
        id=_text(entry_id),
        key=text["key"],
        event_id=text["event_id"],
        prediction=scored.prediction,
        probabilities=scored.probabilities,
        event_time=datetime.fromisoformat(text["event_time"]),
        model_version=int(text["model_version"]),
        model=text.get("model", ""),
        decision=scored.decision,
        config=text.get("config", ""),
        positive_probability=scored.positive,
        format=scored.format,
    )
