"""A stored prediction as readers get it back, and how a label names its probability.

Probabilities are keyed by the label's JSON form (:func:`label_name`), the text the
``prediction`` field holds: ``"true"``/``"false"`` for a ``bool`` label, ``"3"`` for ``3``,
``'"EWR"'`` (quotes included) for the string ``"EWR"``. So a label and its probability
always meet, whatever the label's type::

    p.probability_of(p.prediction)                   # the prediction's own probability
    p.probabilities[json.dumps(p.prediction)]         # the same, by hand

A binary classifier's record also carries :attr:`positive_probability`: the probability of
the positive class, ``True`` (or ``1`` for 0/1 labels), as the cost matrix and ROC AUC
take it.

>>> from datetime import UTC
>>> stored = StreamEntry("1-0", "EWR", "e1", False, {"true": 0.25, "false": 0.75},
...                      datetime(2024, 6, 1, tzinfo=UTC), 3, positive_probability=0.25)
>>> stored.probability_of(stored.prediction), stored.probability_of(True)
(0.75, 0.25)
>>> stored.probability_of("never seen")  # a class the model has not given a probability
0.0
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from driftline.core.learning.costs import positive_class

__all__ = [
    "RECORD_FORMAT",
    "StoredPrediction",
    "StreamEntry",
    "json_label",
    "label_name",
    "positive_probability",
]

#: The version of the stored record this code writes (the ``format`` field). Format 0 (no
#: ``format`` field) named probabilities by ``str(label)`` and had no positive probability.
RECORD_FORMAT = 1


def json_label(value: Any) -> Any:
    """The label as JSON can carry it: JSON scalars as they are, anything else as ``str()``.

    >>> json_label(True), json_label(3), json_label("EWR"), json_label(None), json_label((1, 2))
    (True, 3, 'EWR', None, '(1, 2)')
    """
    return value if isinstance(value, bool | int | float | str) or value is None else str(value)


def label_name(label: Any) -> str:
    """The name of ``label`` among the stored probabilities: its JSON form, the text that
    the ``prediction`` field holds for it. Raises :class:`ValueError` for NaN or infinity.

    >>> label_name(True), label_name(1), label_name("EWR"), label_name(None), label_name(2.5)
    ('true', '1', '"EWR"', 'null', '2.5')
    """
    return json.dumps(json_label(label), allow_nan=False)


def positive_probability(probabilities: dict[Any, float] | None) -> float | None:
    """The positive class's probability of a binary classifier, ``None`` for any other
    model. Labels that are all ``bool`` are binary (``0.0`` while ``True`` has no
    probability yet); so are ``0``/``1`` integers, with ``1`` positive.

    >>> positive_probability({True: 0.8, False: 0.2}), positive_probability({0: 0.7, 1: 0.3})
    (0.8, 0.3)
    >>> positive_probability({False: 1.0}), positive_probability({"a": 0.5, "b": 0.5})
    (0.0, None)
    """
    if not probabilities:
        return None
    binary = positive_class(probabilities) is not None or all(
        type(label) is bool for label in probabilities
    )
    return float(probabilities.get(True, 0.0)) if binary else None  # True == 1 as a key


class _ByLabel:
    """What a record with probabilities answers about one label."""

    probabilities: dict[str, float] | None

    def probability_of(self, label: Any) -> float | None:
        """The probability the model gave ``label`` (a label as the prediction holds it:
        ``True``, ``3``, ``"EWR"``); ``0.0`` for a class it gave none, ``None`` when the
        model gives no probabilities (a regressor)."""
        if self.probabilities is None:
            return None
        return self.probabilities.get(label_name(label), 0.0)


@dataclass(frozen=True)
class StoredPrediction(_ByLabel):
    """The latest prediction for one entity, as the worker stored it."""

    key: str
    prediction: Any
    #: Label (its JSON form, :func:`label_name`) to probability; ``None`` for a regressor.
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
    #: A binary classifier's probability of the positive class (``None``: not binary).
    positive_probability: float | None = None
    #: The version of the stored record it was read from (:data:`RECORD_FORMAT`).
    format: int = RECORD_FORMAT

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: times as ISO 8601."""
        return {
            "key": self.key,
            "prediction": self.prediction,
            "probabilities": self.probabilities,
            "positive_probability": self.positive_probability,
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
            "format": self.format,
        }


@dataclass(frozen=True)
class StreamEntry(_ByLabel):
    """One entry of the predictions stream; ``id`` is the stream's entry id (``<ms>-<seq>``)."""

    id: str
    key: str
    event_id: str
    prediction: Any
    #: Label (its JSON form, :func:`label_name`) to probability; ``None`` for a regressor.
    probabilities: dict[str, float] | None
    event_time: datetime
    model_version: int
    model: str = ""
    decision: Any = None
    config: str = ""
    #: A binary classifier's probability of the positive class (``None``: not binary).
    positive_probability: float | None = None
    #: The version of the stored record it was read from (:data:`RECORD_FORMAT`).
    format: int = RECORD_FORMAT

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the event time as ISO 8601."""
        return {
            "id": self.id,
            "key": self.key,
            "event_id": self.event_id,
            "prediction": self.prediction,
            "probabilities": self.probabilities,
            "positive_probability": self.positive_probability,
            "event_time": self.event_time.isoformat(),
            "model_version": self.model_version,
            "model": self.model,
            "decision": self.decision,
            "config": self.config,
            "format": self.format,
        }
