"""Champion and challengers: several models learn the same stream; the best one serves.

Every model of a task (a :class:`ModelSlot`) predicts each observation from the same
feature vector and learns each label, and each is scored prequentially on the same labels.
The champion's prediction is the one served. :class:`PromotionRule` promotes a challenger
whose mean loss over the last ``window`` labels (the decision's cost with a cost matrix,
else log loss or absolute error) is below the champion's by ``margin`` (relative): both
windows hold the same labels, so the comparison is paired and fair. A new champion is not
challenged again before a whole window of labels has passed (the task counts them), so
two close models do not swap places on every label.

>>> from pipeline.core.metrics import TaskMetrics
>>> rule = PromotionRule(window=3, margin=0.1)
>>> a = ModelSlot("a", "dummy.NoChangeClassifier()", 42, TaskMetrics("classification"))
>>> b = ModelSlot("b", "dummy.NoChangeClassifier()", 42, TaskMetrics("classification"))
>>> for loss_a, loss_b in [(1.0, 0.5), (1.0, 0.5), (1.0, 0.5)]:
...     a.add_loss(loss_a, rule.window)
...     b.add_loss(loss_b, rule.window)
>>> rule.challenger_to_promote(a, [b]).name
'b'
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from pipeline.core.costs import ThresholdTuner, decide
from pipeline.core.metrics import TaskMetrics
from pipeline.core.models import build_model

__all__ = ["ModelSlot", "PromotionRule"]


@dataclass(frozen=True)
class PromotionRule:
    """When a challenger takes over: ``auto``, over ``window`` labels, by ``margin``."""

    auto: bool = True
    window: int = 2000
    margin: float = 0.02

    def challenger_to_promote(
        self, champion: ModelSlot, challengers: list[ModelSlot]
    ) -> ModelSlot | None:
        """The challenger that beats the champion by the margin (the best if several)."""
        if not self.auto:
            return None
        held = champion.window_loss(self.window)
        if held is None:
            return None
        best: ModelSlot | None = None
        best_loss = held * (1 - self.margin)
        for slot in challengers:
            loss = slot.window_loss(self.window)
            if loss is not None and loss < best_loss:
                best, best_loss = slot, loss
        return best


class ModelSlot:
    """One model of a task, with what belongs to it alone.

    ``version`` counts the changes of this slot's model (each learned label, a reset, a
    swap, a rollback), so a (name, version) pair names one model state and is never
    reused. ``guard_scale`` is the largest magnitude learned per feature (see the task's
    guard). ``background`` is a model learning since a drift warning, ready to be swapped
    in when the drift is confirmed.
    """

    def __init__(
        self,
        name: str,
        spec: str,
        seed: int,
        metrics: TaskMetrics,
        tuner: ThresholdTuner | None = None,
        model: Any = None,
    ) -> None:
        self.name = name
        self.spec = spec
        self.seed = seed
        self.model: Any = build_model(spec, seed) if model is None else model
        #: Whether the model's ``predict_one`` is the argmax of its probabilities.
        self.argmax = False
        self.version = 0
        self.metrics = metrics
        self.tuner = tuner
        self.guard_scale: dict[str, float] = {}
        self.background: Any = None
        self.monitor: Any = None  # set by the task when concept drift is watched
        self._losses: deque[float] = deque()
        self._loss_sum = 0.0

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
        """A new model in this slot (reset, swap, rollback): a new version, fresh windows."""
        self.model = model
        self.version += 1
        self.guard_scale = {}
        self.background = None
        self._losses.clear()
        self._loss_sum = 0.0

    def fresh_model(self) -> Any:
        return build_model(self.spec, self.seed)

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
