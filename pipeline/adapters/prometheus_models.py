"""Each model's figures of a task snapshot as Prometheus metric families, by partition
and model: the prequential scores as gauges (since the task began), and beside them the
counters they are ratios of, so that PromQL can add partitions and take any window.

The last hour's accuracy over every partition, from a scrape of either exposition::

    sum(rate(driftline_model_predictions_correct_total[1h]))
      / sum(rate(driftline_model_labels_scored_total[1h]))

and the log loss (``..._log_loss_sum_total``), the baseline's accuracy
(``..._baseline_correct_total``) or a policy's cost per decision
(``..._decision_cost_total{policy}`` over ``..._decisions_costed_total``) the same way.

>>> snap = {"partition": 0, "scored": 3, "confusion": [[True, True, 2], [False, True, 1]],
...         "cross_entropy_sum": 1.5, "baseline_correct": 1}
>>> families = ModelFamilies()
>>> families.add("0", {"main": {"champion": True}}, snap)
>>> [(s.name, s.value) for f in families.families() for s in f.samples
...  if s.name.endswith("_total")][:4]  # doctest: +NORMALIZE_WHITESPACE
[('driftline_model_labels_scored_total', 3), ('driftline_model_predictions_correct_total', 2),
 ('driftline_model_baseline_correct_total', 1), ('driftline_model_log_loss_sum_total', 1.5)]
"""

from __future__ import annotations

from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

__all__ = ["COST_POLICIES", "ModelFamilies"]

#: The decision policies costed, in the order of a snapshot's ``cost_sums``
#: (:class:`driftline.core.learning.metrics.TaskMetrics`): the cost-aware decision, the
#: argmax of the probabilities, and always the majority class so far.
COST_POLICIES = ("decision", "argmax", "majority")

#: ``(gauge name, the derived score, help)``: a model's prequential scores.
_SCORES = (
    ("accuracy_ratio", "accuracy", "Prequential accuracy since the task began."),
    ("rolling_accuracy_ratio", "rolling_accuracy", "Accuracy over the last N labels."),
    ("roc_auc_ratio", "roc_auc", "Prequential ROC AUC (binary labels)."),
    ("log_loss", "log_loss", "Prequential log loss (cross-entropy per label)."),
    ("precision_ratio", "precision", "Prequential precision of the positive class."),
    ("recall_ratio", "recall", "Prequential recall of the positive class."),
    ("mean_absolute_error", "mae", "Prequential mean absolute error (regression)."),
    ("rolling_mean_absolute_error", "rolling_mae", "MAE over the last N labels."),
    ("root_mean_squared_error", "rmse", "Prequential RMSE (regression)."),
)

#: ``(counter name, the snapshot's sum, help)``: the sums the scores are ratios of
#: (``scored`` and ``correct`` are read apart: the latter from the confusion matrix).
_SUMS = (
    (
        "baseline_correct",
        "baseline_correct",
        "Labels the always-majority baseline got right (its accuracy's numerator).",
    ),
    ("log_loss_sum", "cross_entropy_sum", "Sum of each scored label's log loss (cross-entropy)."),
    ("absolute_error_sum", "abs_error_sum", "Sum of absolute errors (regression)."),
    ("squared_error_sum", "sq_error_sum", "Sum of squared errors (regression)."),
    (
        "baseline_absolute_error_sum",
        "baseline_abs_error_sum",
        "Sum of the running-mean baseline's absolute errors (regression).",
    ),
    ("decisions_costed", "costed", "Decisions costed under the cost matrix (binary labels)."),
)

_LABELS = ["partition", "model"]


class ModelFamilies:
    """The families of every model of the snapshots added, one series per partition and
    model (a task with one model scores it in the task's own snapshot)."""

    def __init__(self) -> None:
        self.scored = CounterMetricFamily(
            "driftline_model_labels_scored",
            "Labels each model was scored on (prequential: predicted before learned).",
            labels=_LABELS,
        )
        self.correct = CounterMetricFamily(
            "driftline_model_predictions_correct",
            "Scored labels the model predicted right (the accuracy's numerator).",
            labels=_LABELS,
        )
        self.sums = {
            name: CounterMetricFamily(f"driftline_model_{name}", text, labels=_LABELS)
            for name, _, text in _SUMS
        }
        self.cost = CounterMetricFamily(
            "driftline_model_decision_cost",
            "Cost of the decisions under the cost matrix, by policy: the cost-aware "
            "decision, the argmax and always-majority.",
            labels=[*_LABELS, "policy"],
        )
        self.scores = {
            name: GaugeMetricFamily(f"driftline_model_{name}", text, labels=_LABELS)
            for name, _, text in _SCORES
        }
        self.costs = GaugeMetricFamily(
            "driftline_model_cost_per_1000_decisions",
            "Cost of 1,000 decisions under the cost matrix: the cost-aware decision, the "
            "argmax and always-majority.",
            labels=[*_LABELS, "policy"],
        )
        self.champion = GaugeMetricFamily(
            "driftline_model_champion",
            "1 for the model whose prediction is served, 0 for challengers.",
            labels=_LABELS,
        )
        self.threshold = GaugeMetricFamily(
            "driftline_model_decision_threshold",
            "The probability from which the decision is positive (cost-aware decisions).",
            labels=_LABELS,
        )

    def add(self, partition: str, models: dict[str, Any], snap: dict[str, Any]) -> None:
        """Add the models (a snapshot's ``models``) of the task snapshot ``snap``."""
        for model, about in sorted(models.items()):
            own = about.get("scores") or (snap if len(models) == 1 else {})
            labels = [partition, model]
            self.scored.add_metric(labels, own.get("scored", 0))
            if own.get("confusion") is not None:
                correct = sum(n for truth, predicted, n in own["confusion"] if truth == predicted)
                self.correct.add_metric(labels, correct)
            for name, key, _ in _SUMS:
                if own.get(key) is not None:
                    self.sums[name].add_metric(labels, own[key])
            for policy, total in zip(COST_POLICIES, own.get("cost_sums") or (), strict=False):
                self.cost.add_metric([*labels, policy], total)
            for name, key, _ in _SCORES:
                value = own.get(key)
                if value is not None:
                    self.scores[name].add_metric(labels, value)
            for policy, value in (own.get("cost_per_1000") or {}).items():
                self.costs.add_metric([*labels, policy], value)
            self.champion.add_metric(labels, 1.0 if about.get("champion") else 0.0)
            if about.get("threshold") is not None:
                self.threshold.add_metric(labels, about["threshold"])

    def families(self) -> list[Metric]:
        return [
            self.scored,
            self.correct,
            *self.sums.values(),
            self.cost,
            *self.scores.values(),
            self.costs,
            self.champion,
            self.threshold,
        ]
