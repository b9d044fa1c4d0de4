"""The learning guard: how a model answers, and how it learns one step without breaking.

A step with a large number in it (beyond the task's ``guard_above``, and more than
:data:`GUARD_GROWTH` times any learned for its feature) is learned on a copy first: if
the model's answer for that input is no longer finite, the copy is dropped and the model
stays as it was (:func:`learn_guarded`). A step the model raises on is refused too.

>>> from driftline.core.learning.contenders import ModelSlot
>>> from driftline.core.learning.metrics import TaskMetrics
>>> slot = ModelSlot("main", "linear_model.LinearRegression()", 42, TaskMetrics("regression"))
>>> x = {"x": 5e9}
>>> big = large(x, 1.0, limit=1e6)
>>> big, risky(big, slot.guard_scale)
([('x', 5000000000.0)], True)
>>> learn_guarded(slot, x, 1.0, big, "regression", slot.metrics.counts)  # learned on a copy
>>> slot.guard_scale, slot.version
({'x': 5000000000.0}, 1)
>>> finite(float("nan"), None), finite(True, {True: 0.5, False: 0.5})
(False, True)
"""

from __future__ import annotations

import math
import pickle
from collections import Counter
from typing import Any

from river import base, compose

from driftline.core.learning.contenders import ModelSlot
from driftline.core.learning.models import ModelKind
from driftline.core.quality.rules import Verdict

__all__ = [
    "GUARD_GROWTH",
    "answer",
    "finite",
    "is_multiclass",
    "large",
    "learn_guarded",
    "predict_is_argmax",
    "risky",
]

#: A number this many times larger than any learned before for its feature is guarded.
GUARD_GROWTH = 100.0
_NON_FINITE = "learning it would make the model's output not finite; the model is unchanged"


def answer(
    model: Any, x: dict[str, Any], kind: ModelKind, argmax: bool
) -> tuple[Any, dict[Any, float] | None]:
    """A model's (prediction, probabilities) for ``x`` (a regressor: no probabilities);
    ``argmax``: its ``predict_one`` is the argmax of its probabilities."""
    if kind != "classification":
        return model.predict_one(x), None
    probabilities = model.predict_proba_one(x)
    if argmax:
        # River's own Classifier.predict_one is exactly this argmax: skip a second pass.
        prediction = max(probabilities, key=probabilities.get) if probabilities else None
    else:
        prediction = model.predict_one(x)
    return prediction, probabilities


def learn_guarded(
    slot: ModelSlot,
    x: dict[str, Any],
    label: Any,
    big: list[tuple[str, float]],
    kind: ModelKind,
    counts: Counter[str],
) -> Verdict:
    """``slot``'s model learns one step, guarded (``big``: the step's large numbers, see
    :func:`large`); ``None`` once learned, else the reason and detail of the refusal,
    counted as ``refused`` in ``counts``.

    A River model that raises may have changed part of its state by then:
    deterministically, so replays agree. A model learning since a drift warning (the
    slot's background model) learns the step too, or is dropped if it cannot.
    """
    try:
        if big and risky(big, slot.guard_scale):
            # A copy through pickle: the state a deep copy gives, in half the time.
            trial = pickle.loads(pickle.dumps(slot.model, protocol=5))  # noqa: S301 - ours
            trial.learn_one(x, label)
            if not finite(*answer(trial, x, kind, slot.argmax)):
                counts["refused"] += 1
                return "non-finite-learning", _NON_FINITE
            slot.model = trial
        else:
            slot.model.learn_one(x, label)
    except Exception as exc:  # a River model refusing the step: count it, go on
        counts["refused"] += 1
        return "model-error", f"the model failed to learn it: {exc!r}"[:1000]
    for name, size in big:  # learned: these magnitudes are known now
        if size > slot.guard_scale.get(name, 0.0):
            slot.guard_scale[name] = size
    slot.version += 1
    if slot.background is not None:
        try:
            slot.background.learn_one(x, label)
        except Exception:  # a background model that cannot learn this is dropped
            slot.background = None
    return None


def large(x: dict[str, Any], label: Any, limit: float) -> list[tuple[str, float]]:
    """The numbers of a step beyond ``limit`` (the label as ``"\\x00label"``)."""
    low = -limit  # v > limit or v < -limit: abs(v) > limit without a call per number
    big = [
        (name, abs(v))
        for name, v in x.items()
        if (type(v) is float or _is_number(v)) and (v > limit or v < low)
    ]
    if _is_number(label) and abs(label) > limit:
        big.append(("\x00label", abs(label)))
    return big


def risky(big: list[tuple[str, float]], scale: dict[str, float]) -> bool:
    """Whether a large number is new in kind: over :data:`GUARD_GROWTH` times the largest
    one learned for that feature (a feature that is always large, such as the lateness of
    a historical replay, is guarded once, not on every step)."""
    return any(size > GUARD_GROWTH * scale.get(name, 0.0) for name, size in big)


def finite(prediction: Any, probabilities: dict[Any, float] | None) -> bool:
    """Whether a prediction and its probabilities are finite numbers (or not numbers)."""
    if isinstance(prediction, float) and not math.isfinite(prediction):
        return False
    return probabilities is None or all(math.isfinite(p) for p in probabilities.values())


def is_multiclass(model: Any) -> bool:
    """Whether the classifier takes more than two classes (River's ``_multiclass``)."""
    last = list(model.steps.values())[-1] if isinstance(model, compose.Pipeline) else model
    return bool(getattr(last, "_multiclass", True))


def predict_is_argmax(model: Any) -> bool:
    """Whether the model's ``predict_one`` is River's default argmax of the probabilities."""
    last = list(model.steps.values())[-1] if isinstance(model, compose.Pipeline) else model
    return type(last).predict_one is base.Classifier.predict_one


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
