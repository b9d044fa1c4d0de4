"""Prediction records of format 0, read: written before the record had a ``format`` field.

Format 0 named probabilities by ``str(label)`` (``"True"`` beside a prediction ``true``)
and had no positive probability. Readers turn such a record into what format 1 holds:
the names become the labels' JSON forms (:func:`~driftline.adapters.stored_prediction.label_name`),
told apart by the type of the prediction beside them (a classifier's labels share one
type), and the positive probability is worked out from them. Such records last as long as
a prediction's hash is kept (the Redis settings' ``prediction_ttl_s``) and the capped
stream keeps them.
"""

from __future__ import annotations

import json
from typing import Any

from driftline.adapters.stored_prediction import label_name, positive_probability

__all__ = ["format_0_positive", "format_0_probabilities"]


def format_0_probabilities(
    probabilities: dict[str, float] | None, prediction: Any
) -> dict[str, float] | None:
    """A format-0 record's probabilities (named by ``str(label)``) named by the labels'
    JSON forms, told apart by the type of the prediction beside them.

    >>> format_0_probabilities({"True": 0.2, "False": 0.8}, False)
    {'true': 0.2, 'false': 0.8}
    >>> format_0_probabilities({"1": 0.2, "0": 0.8}, 0)
    {'1': 0.2, '0': 0.8}
    >>> format_0_probabilities({"EWR": 1.0, "None": 0.0}, "EWR")
    {'"EWR"': 1.0, '"None"': 0.0}
    """
    if probabilities is None:
        return None
    return {_json_form(name, prediction): p for name, p in probabilities.items()}


def _json_form(name: str, prediction: Any) -> str:
    if isinstance(prediction, bool) and name in ("True", "False"):
        return name.lower()
    if isinstance(prediction, int | float) and not isinstance(prediction, bool):
        try:
            number = json.loads(name)
        except ValueError:
            number = None
        if isinstance(number, int | float) and not isinstance(number, bool):
            return label_name(number)
    return json.dumps(name)


def format_0_positive(probabilities: dict[str, float] | None) -> float | None:
    """The positive probability of probabilities named by JSON forms."""
    if probabilities is None:
        return None
    return positive_probability({json.loads(name): p for name, p in probabilities.items()})
