"""The stored prediction record: what the Redis sink writes and readers read, defined once.

A :class:`~driftline.core.events.records.Prediction` is stored twice: as the fields of the entity's
hash (the latest prediction, read back as a :class:`StoredPrediction`) and as an entry of the
predictions stream (read back as a :class:`StreamEntry`). Field names are the ones the README
documents under "Redis key schema". Every value is text, as Redis keeps it:

- ``prediction``: the label as JSON; a label that JSON cannot carry (neither ``bool``,
  ``int``, ``float``, ``str`` nor ``None``) is stored as its ``str()``.
- ``probabilities``: a JSON object, class (as ``str()``) to probability, or ``null`` for a
  regressor. Probabilities are stored exactly as the model gave them: JSON writes a Python
  float with its shortest ``repr``, which reads back bit for bit.
- times as ISO 8601; ``event_time_us`` as integer microseconds since the epoch (what the
  sink's stale-write check compares).

JSON is written with ``allow_nan=False``: a non-finite probability or label is never
stored as ``NaN``/``Infinity`` (which strict JSON readers refuse); the encoders raise
:class:`ValueError` instead and the caller decides what to do with that prediction.

>>> from datetime import UTC, datetime
>>> at = datetime(2024, 6, 1, 8, 0, 0, 250, tzinfo=UTC)
>>> probabilities = {True: 0.1234567891234, False: 0.8765432108766}
>>> p = Prediction("EWR", "e1", 0, 7, at, at, at, True, probabilities, 3)
>>> fields = encode_hash(p)
>>> fields["probabilities"], fields["event_time_us"]
('{"True": 0.1234567891234, "False": 0.8765432108766}', '1717228800000250')
>>> stored = decode_hash("EWR", {k.encode(): v.encode() for k, v in fields.items()})
>>> stored.prediction, stored.probabilities["True"] == 0.1234567891234, stored.offset
(True, True, 7)
>>> entry = decode_stream_entry(b"1-0", encode_stream(p))
>>> entry.id, entry.key, entry.model_version
('1-0', 'EWR', 3)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from driftline.core.events.records import Prediction

__all__ = [
    "HASH_FIELDS",
    "STREAM_FIELDS",
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
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Fields = Mapping[bytes, bytes] | Mapping[str, str]


@dataclass(frozen=True)
class StoredPrediction:
    """The latest prediction for one entity, as the worker stored it."""

    key: str
    prediction: Any
    probabilities: dict[str, float] | None
    model_version: int
    event_id: str
    event_time: datetime
    ingest_time: datetime
    predicted_time: datetime
    partition: int
    offset: int
    #: The model that made it, the decision served and its threshold (``None``: argmax).
    model: str = ""
    decision: Any = None
    threshold: float | None = None
    #: The fingerprint of the configuration that made it.
    config: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: times as ISO 8601."""
        return {
            "key": self.key,
            "prediction": self.prediction,
            "probabilities": self.probabilities,
            "model_version": self.model_version,
            "event_id": self.event_id,
            "event_time": self.event_time.isoformat(),
            "ingest_time": self.ingest_time.isoformat(),
            "predicted_time": self.predicted_time.isoformat(),
            "partition": self.partition,
            "offset": self.offset,
            "model": self.model,
            "decision": self.decision,
            "threshold": self.threshold,
            "config": self.config,
        }


@dataclass(frozen=True)
class StreamEntry:
    """One entry of the predictions stream; ``id`` is the stream's entry id (``<ms>-<seq>``)."""

    id: str
    key: str
    event_id: str
    prediction: Any
    probabilities: dict[str, float] | None
    event_time: datetime
    model_version: int
    model: str = ""
    decision: Any = None
    config: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the event time as ISO 8601."""
        return {
            "id": self.id,
            "key": self.key,
            "event_id": self.event_id,
            "prediction": self.prediction,
            "probabilities": self.probabilities,
            "event_time": self.event_time.isoformat(),
            "model_version": self.model_version,
            "model": self.model,
            "decision": self.decision,
            "config": self.config,
        }


def json_label(value: Any) -> Any:
    """The label as JSON can carry it: JSON scalars as they are, anything else as ``str()``.

    >>> json_label(True), json_label(3), json_label("EWR"), json_label(None), json_label((1, 2))
    (True, 3, 'EWR', None, '(1, 2)')
    """
    return value if isinstance(value, bool | int | float | str) or value is None else str(value)


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
    """``json.dumps({str(label): float(p)}, allow_nan=False)``, written out: a float's JSON
    is its ``repr``, and each label's JSON string is made once (``docs/performance.md``,
    change 6)."""
    if probabilities is None:
        return "null"
    # two labels with one text (False and "False") are one JSON name, as in json.dumps:
    # the first one's place, the last one's value
    named = {str(label): float(p) for label, p in probabilities.items()}
    parts = []
    for name, value in named.items():
        if value != value or value in (_INF, -_INF):
            raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
        parts.append(f"{_json_name(name)}: {value!r}")
    return "{" + ", ".join(parts) + "}"


_INF = float("inf")
_json_name = functools.lru_cache(maxsize=1024)(json.dumps)


def _label_json(label: Any) -> str:
    if label is True:
        return "true"
    if label is False:
        return "false"
    return _dumps(json_label(label))


def encoded_values(prediction: Prediction) -> tuple[str, str, str, str]:
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


def hash_items(
    prediction: Prediction, shared: tuple[str, str, str, str] | None = None
) -> list[str]:
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
    ]  # fmt: skip


def stream_items(
    prediction: Prediction, shared: tuple[str, str, str, str] | None = None
) -> list[str]:
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


def decode_hash(key: str, fields: Fields) -> StoredPrediction:
    """The :class:`StoredPrediction` of entity ``key`` from its hash fields (bytes or text)."""
    text = _texts(fields)
    return StoredPrediction(
        key=key,
        prediction=json.loads(text["prediction"]),
        probabilities=json.loads(text["probabilities"]),
        model_version=int(text["model_version"]),
        event_id=text["event_id"],
        event_time=datetime.fromisoformat(text["event_time"]),
        ingest_time=datetime.fromisoformat(text["ingest_time"]),
        predicted_time=datetime.fromisoformat(text["predicted_time"]),
        partition=int(text["partition"]),
        offset=int(text["offset"]),
        # records of a worker older than champion and challengers have none of these three
        model=text.get("model", ""),
        decision=json.loads(text.get("decision", text["prediction"])),
        threshold=json.loads(text.get("threshold", "null")),
        config=text.get("config", ""),
    )


def decode_stream_entry(entry_id: bytes | str, fields: Fields) -> StreamEntry:
    """The :class:`StreamEntry` of one ``XREAD``/``XRANGE`` entry (bytes or text)."""
    text = _texts(fields)
    return StreamEntry(
        id=_text(entry_id),
        key=text["key"],
        event_id=text["event_id"],
        prediction=json.loads(text["prediction"]),
        probabilities=json.loads(text["probabilities"]),
        event_time=datetime.fromisoformat(text["event_time"]),
        model_version=int(text["model_version"]),
        model=text.get("model", ""),
        decision=json.loads(text.get("decision", text["prediction"])),
        config=text.get("config", ""),
    )
