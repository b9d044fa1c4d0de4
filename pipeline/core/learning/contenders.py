"""Champion and challengers: several models learn the same stream; the best one serves.

Every model of a task (a :class:`ModelSlot`) predicts each observation from the same
feature vector and learns each label, and each is scored prequentially on the same labels.
The champion's prediction is the one served. :class:`PromotionRule` promotes a challenger
whose mean loss over the last ``window`` labels (the decision's cost with a cost matrix,
else log loss or absolute error) is below the champion's by ``margin`` (relative). The
comparison is paired (:class:`PairedLosses`): both means are over the same labels, those
both models answered. A challenger that gave no answer to a label the champion answered
(it raised, its output was not finite, it had no probabilities) is not promoted while
that label is in the window: promoted, it would serve no answer to such inputs, and an
abstention must not pass for a small loss. A new champion is not challenged again before
a whole window of labels has passed (the task counts them), so two close models do not
swap places on every label.

>>> from driftline.core.learning.metrics import TaskMetrics
>>> rule = PromotionRule(window=3, margin=0.1)
>>> b = ModelSlot("b", "dummy.NoChangeClassifier()", 42, TaskMetrics("classification"))
>>> for loss_a, loss_b in [(1.0, 0.5), (1.0, 0.5), (1.0, 0.5)]:
...     b.contest.add(loss_a, loss_b, rule.window)  # the champion's loss, then b's
>>> rule.challenger_to_promote([b]).name
'b'
>>> b.contest.add(3.0, None, rule.window)  # b gave no answer where the champion did
>>> rule.challenger_to_promote([b]) is None
True
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from pydantic import Field

from driftline.core.drift.alarms import DriftAction
from driftline.core.drift.response import DriftResponse
from driftline.core.learning.costs import ThresholdTuner, decide
from driftline.core.learning.metrics import TaskMetrics
from driftline.core.learning.models import build_model

__all__ = ["ModelSlot", "PairedLosses", "PromotionRule"]


@dataclass(frozen=True)
class PromotionRule:
    """When a challenger takes over: ``auto``, over ``window`` labels, by ``margin``.

    Bounds and descriptions (``Field``) are what the settings accept
    (:meth:`driftline.core.task.config.TaskConfig.field_info`); they are not checked here.
    """

    auto: Annotated[bool, Field(description="promote a challenger that beats the champion")] = True
    window: Annotated[int, Field(ge=1, description="labels a promotion compares")] = 2000
    margin: Annotated[
        float,
        Field(ge=0, lt=1, description="relative loss a challenger must be below the champion's"),
    ] = 0.02

    def challenger_to_promote(self, challengers: list[ModelSlot]) -> ModelSlot | None:
        """The challenger that beats the champion by the margin on the labels both
        answered, over a whole window with no abstention (the best if several)."""
        if not self.auto:
            return None
        best: ModelSlot | None = None
        best_loss = math.inf
        for slot in challengers:
            contest = slot.contest
            if len(contest) < self.window or contest.abstained or not contest.both:
                continue
            held, loss = contest.means()
            if loss < held * (1 - self.margin) and loss < best_loss:
                best, best_loss = slot, loss
        return best


class PairedLosses:
    """The champion's and one challenger's losses on the same last ``window`` labels.

    A pair per label, ``None`` for a model that gave no answer: the means are over the
    labels both answered (``both``); ``abstained`` counts the labels the challenger did
    not answer while the champion did. A label the champion did not answer (a model with
    nothing to say before its first label) is left out of the comparison.

    >>> pairs = PairedLosses()
    >>> for champion, challenger in [(0.25, 0.5), (None, 0.125), (1.0, None), (0.5, 0.75)]:
    ...     pairs.add(champion, challenger, window=3)  # the first pair leaves the window
    >>> len(pairs), pairs.both, pairs.abstained, pairs.means()
    (3, 1, 1, (0.5, 0.75))
    """

    def __init__(self) -> None:
        self.pairs: deque[tuple[float | None, float | None]] = deque()
        self.champion_sum = 0.0
        self.challenger_sum = 0.0
        self.both = 0
        self.abstained = 0

    def __len__(self) -> int:
        return len(self.pairs)

    def add(self, champion: float | None, challenger: float | None, window: int) -> None:
        """One label's losses (``None``: no answer), kept over the last ``window`` labels."""
        self.pairs.append((champion, challenger))
        self._count(champion, challenger, 1)
        if len(self.pairs) > window:
            self._count(*self.pairs.popleft(), -1)

    def _count(self, champion: float | None, challenger: float | None, sign: int) -> None:
        if champion is None:
            return
        if challenger is None:
            self.abstained += sign
            return
        self.both += sign
        self.champion_sum += sign * champion
        self.challenger_sum += sign * challenger

    def means(self) -> tuple[float, float]:
        """The champion's and the challenger's mean loss on the labels both answered."""
        n = self.both or 1
        return self.champion_sum / n, self.challenger_sum / n

    def clear(self) -> None:
        """Forget every pair: a model in the comparison changed, or the champion did."""
        self.pairs.clear()
        self.champion_sum = self.challenger_sum = 0.0
        self.both = self.abstained = 0


class ModelSlot:
    """One model of a task, with what belongs to it alone.

    ``version`` counts the changes of this slot's model (each learned label, a reset, a
    swap, a rollback), so a (name, version) pair names one model state and is never
    reused. ``guard_scale`` is the largest magnitude learned per feature (see
    :mod:`~driftline.core.learning.guard`). The model is held by its drift response
    (``drift``, a :class:`~driftline.core.drift.response.DriftResponse` following the
    concept drift ``action``), with ``background``, a model learning since a drift
    warning, ready to be swapped in when the drift is confirmed.
    """

    def __init__(
        self,
        name: str,
        spec: str,
        seed: int,
        metrics: TaskMetrics,
        tuner: ThresholdTuner | None = None,
        model: Any = None,
        action: DriftAction = "none",
    ) -> None:
        self.name = name
        self.spec = spec
        self.seed = seed
        #: The model, with what it does at a drift (a fresh one is built from the spec).
        self.drift = DriftResponse(
            build_model(spec, seed) if model is None else model,
            action,
            fresh=partial(build_model, spec, seed),
        )
        #: Whether the model's ``predict_one`` is the argmax of its probabilities.
        self.argmax = False
        self.version = 0
        self.metrics = metrics
        self.tuner = tuner
        self.guard_scale: dict[str, float] = {}
        self.monitor: Any = None  # set by the ensemble when concept drift is watched
        self._losses: deque[float] = deque()
        self._loss_sum = 0.0
        #: This model's losses paired with the champion's (unused for the champion).
        self.contest = PairedLosses()

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "contest" not in state:  # a checkpoint made before pairs were kept
            state = state | {"contest": PairedLosses()}
        self.__dict__.update(state)

    @property
    def model(self) -> Any:
        """The River model of this slot."""
        return self.drift.model

    @model.setter
    def model(self, model: Any) -> None:
        self.drift.model = model

    @property
    def background(self) -> Any:
        """The model learning since a drift warning (``None``: no warning in force)."""
        return self.drift.background

    @background.setter
    def background(self, model: Any) -> None:
        self.drift.background = model

    @property
    def threshold(self) -> float | None:
        """The decision threshold in force (``None``: no cost matrix)."""
        return self.tuner.threshold if self.tuner is not None else None

    def decide(self, prediction: Any, probabilities: dict[Any, float] | None) -> Any:
        """The cost-aware decision for these probabilities (the prediction without costs)."""
        if self.tuner is None or not probabilities:
            return prediction
        return decide(probabilities, self.tuner.threshold)

    def add_loss(self, loss: float, window: int) -> None:
        """One label's loss, kept over the last ``window`` labels."""
        self._losses.append(loss)
        self._loss_sum += loss
        if len(self._losses) > window:
            self._loss_sum -= self._losses.popleft()

    def window_loss(self, window: int) -> float | None:
        """The mean loss of the last ``window`` labels (``None`` until there are that many)."""
        if len(self._losses) < window:
            return None
        return self._loss_sum / len(self._losses)

    def replace_model(self, model: Any) -> None:
        """A new model in this slot (a rollback): a new version, fresh windows."""
        self.drift.model = model
        self.drift.background = None
        self.renew()

    def renew(self) -> None:
        """The slot's model was replaced (a rollback, a drift's action): a new version,
        fresh windows."""
        self.version += 1
        self.guard_scale = {}
        self._losses.clear()
        self._loss_sum = 0.0
        self.contest.clear()

    def describe(self, champion: bool) -> dict[str, Any]:
        """What a snapshot says of this model."""
        return {
            "name": self.name,
            "model": self.spec,
            "version": self.version,
            "champion": champion,
            "threshold": self.threshold,
            "window_loss": self.window_loss(len(self._losses) or 1),
            "background": self.background is not None,
        }
