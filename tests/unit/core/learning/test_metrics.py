"""TaskMetrics, one task's scores, against River's own metrics: ROC AUC for binary labels
only, and the loss each score returns (what promotions compare)."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from river import dummy, metrics

from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.metrics import TaskMetrics, merge_snapshots
from tests.unit.core.learning.scored_rows import (
    ROUNDING,
    binary_rows,
    fed,
    multiclass_rows,
    regression_rows,
)


def river_value(metric: Any, pairs: list[tuple[Any, Any]]) -> float:
    for y_true, y_pred in pairs:
        metric.update(y_true, y_pred)
    return round(metric.get(), 4)


# -- classification --------------------------------------------------------------------------------
@given(rows=binary_rows)
def test_binary_scores_equal_river(rows: list[tuple[bool, bool, dict[bool, float]]]) -> None:
    snap = fed("classification", rows).snapshot()
    pairs = [(t, p) for t, p, _ in rows]
    assert snap["scored"] == len(rows)
    assert snap["accuracy"] == river_value(metrics.Accuracy(), pairs)
    assert snap["precision"] == river_value(metrics.Precision(), pairs)
    assert snap["recall"] == river_value(metrics.Recall(), pairs)
    assert snap["f1"] == river_value(metrics.F1(), pairs)


# away from 0 and 1: there River clamps p(True) to 1 - 1e-15 and takes 1 - p for False, which
# is 9.99e-16 in floats, while the task clamps p(False) itself to 1e-15 (34.5396 vs 34.5388)
unclamped_rows = st.lists(
    st.tuples(st.booleans(), st.booleans(), st.floats(1e-9, 1 - 1e-9)).map(
        lambda t: (t[0], t[1], {True: t[2], False: 1.0 - t[2]})
    ),
    min_size=1,
    max_size=60,
)


@given(rows=unclamped_rows)
def test_log_loss_equals_river(rows: list[tuple[bool, bool, dict[bool, float]]]) -> None:
    snap = fed("classification", rows).snapshot()
    expected = river_value(metrics.LogLoss(), [(t, proba) for t, _, proba in rows])
    assert snap["log_loss"] == pytest.approx(expected, abs=ROUNDING)


def test_log_loss_of_a_missing_class_is_clamped() -> None:
    snap = fed("classification", [(True, False, {False: 1.0}), (True, False, None)]).snapshot()
    assert snap["log_loss"] == round(-math.log(1e-15), 4)


@given(rows=multiclass_rows)
def test_multiclass_scores_equal_river_macro(rows: list[tuple[str, str, Any]]) -> None:
    snap = fed("classification", rows).snapshot()
    pairs = [(t, p) for t, p, _ in rows]
    assert snap["accuracy"] == river_value(metrics.Accuracy(), pairs)
    assert snap["precision"] == river_value(metrics.MacroPrecision(), pairs)
    assert snap["recall"] == river_value(metrics.MacroRecall(), pairs)
    assert snap["f1"] == river_value(metrics.MacroF1(), pairs)


def test_a_none_prediction_keeps_binary_scores_binary() -> None:
    """River classifiers such as HoeffdingTreeClassifier or GaussianNB return {} before their
    first learn, so the task predicts None: like River's evaluator, such a row is not scored."""
    rows = [(True, None, {}), (True, True, None), (False, True, None), (False, False, None)]
    rows += [(True, False, None)]
    m = fed("classification", rows)
    snap = m.snapshot()
    scored = [(t, p) for t, p, _ in rows if p is not None]  # what River's evaluator scores
    assert snap["scored"] == 4 and snap["counts"]["unscored"] == 1
    assert snap["f1"] == river_value(metrics.F1(), scored) == 0.5  # binary, not macro (0.3)
    assert snap["precision"] == river_value(metrics.Precision(), scored)
    assert snap["recall"] == river_value(metrics.Recall(), scored)
    assert snap["accuracy"] == river_value(metrics.Accuracy(), scored)
    assert all(p is not None for _, p, _ in snap["confusion"])
    assert snap["majority_share"] == 0.5  # of the scored labels: T, F, F, T
    prior = dummy.PriorClassifier()  # the baseline also sees only the scored labels
    correct = 0
    for y, _ in scored:
        correct += prior.predict_one({}) == y
        prior.learn_one({}, y)
    assert snap["baseline_correct"] == correct


def test_none_predictions_are_counted_not_scored() -> None:
    m = TaskMetrics("regression")
    m.score(3.0, None, None)
    assert m.scored == 0 and m.counts["unscored"] == 1
    snap = m.snapshot()
    assert "mae" not in snap and snap["rolling_mae"] is None
    m.score(3.0, 1.0, None)
    snap = m.snapshot()
    assert snap["scored"] == 1 and snap["mae"] == 2.0 and snap["counts"]["unscored"] == 1


@given(labels=st.lists(st.sampled_from([True, False, "x"]), min_size=1, max_size=60))
def test_baseline_accuracy_is_the_prequential_majority(labels: list[Any]) -> None:
    """What River's PriorClassifier (predict the most frequent class so far) scores."""
    prior = dummy.PriorClassifier()
    correct = 0
    for y in labels:
        correct += prior.predict_one({}) == y
        prior.learn_one({}, y)
    snap = fed("classification", [(y, y, None) for y in labels]).snapshot()
    assert snap["baseline_accuracy"] == round(correct / len(labels), 4)
    assert snap["baseline_correct"] == correct


def test_baseline_accuracy_by_hand() -> None:
    labels = ["a", "a", "b", "a", "b", "b", "b"]
    # the majority before each label: none, a, a, a, a, a (3-2), a (3-3: the first wins)
    # so right twice (labels 2 and 4)
    snap = fed("classification", [(y, y, None) for y in labels]).snapshot()
    assert snap["baseline_correct"] == 2
    assert snap["baseline_accuracy"] == round(2 / 7, 4)
    assert snap["majority_share"] == round(4 / 7, 4)


# -- regression ------------------------------------------------------------------------------------
@given(rows=regression_rows)
def test_regression_scores_equal_river(rows: list[tuple[float, float, None]]) -> None:
    snap = fed("regression", rows).snapshot()
    pairs = [(t, p) for t, p, _ in rows]
    assert snap["mae"] == pytest.approx(river_value(metrics.MAE(), pairs), abs=ROUNDING)
    assert snap["rmse"] == pytest.approx(river_value(metrics.RMSE(), pairs), abs=ROUNDING)
    ys = [t for t, _ in pairs]
    if max(ys) == min(ys):
        assert snap["r2"] is None  # no variance: R2 is undefined
    else:
        r2 = metrics.R2()
        for y_true, y_pred in pairs:
            r2.update(y_true, y_pred)
        assert snap["r2"] == pytest.approx(r2.get(), rel=1e-6, abs=ROUNDING)


def test_regression_baseline_is_the_running_mean() -> None:
    ys = [2.0, 4.0, 9.0]
    snap = fed("regression", [(y, 0.0, None) for y in ys]).snapshot()
    # baselines before each label: 0 (nothing known), 2, 3
    assert snap["baseline_mae"] == round((2 + 2 + 6) / 3, 4)


@given(rows=regression_rows)
def test_regression_snapshots_carry_the_welford_mean_and_m2(rows: list[Any]) -> None:
    snap = fed("regression", rows).snapshot()
    ys = [t for t, _, _ in rows]
    assert "y_sum" not in snap and "y_sq_sum" not in snap
    assert snap["y_mean"] == pytest.approx(statistics.fmean(ys), abs=1e-9)
    mean = statistics.fmean(ys)
    assert snap["y_m2"] == pytest.approx(sum((y - mean) ** 2 for y in ys), rel=1e-9, abs=1e-6)


def test_r2_of_targets_with_a_large_offset() -> None:
    """Targets such as epoch seconds or ordinal dates: a sum of squares would cancel."""
    ys = [1.7e9 + i for i in range(5)]  # variance 2, sum of squares ~1.4e19
    snap = fed("regression", [(y, y + 0.5, None) for y in ys]).snapshot()
    assert snap["y_m2"] == pytest.approx(10.0, rel=1e-6)
    assert snap["r2"] == pytest.approx(1 - 1.25 / 10, abs=1e-3)


# -- ROC AUC for binary bool or 0/1 labels only, else not applicable ----------------------------
def fed_classifier(rows: list[tuple[Any, Any, dict[Any, float] | None]]) -> TaskMetrics:
    m = TaskMetrics("classification")
    for y_true, y_pred, proba in rows:
        m.score(y_true, y_pred, proba)
    return m


BINARY_P = [(1, 0.8), (0, 0.3), (1, 0.4), (0, 0.6), (1, 0.9), (0, 0.1), (0, 0.7)]


def int_rows(pairs: list[tuple[int, float]]) -> list[tuple[Any, Any, dict[Any, float]]]:
    return [(y, int(p > 0.5), {1: p, 0: 1.0 - p}) for y, p in pairs]


def test_int_binary_labels_get_river_s_roc_auc() -> None:
    snap = fed_classifier(int_rows(BINARY_P)).snapshot()
    river = metrics.ROCAUC(pos_val=1)
    for y, p in BINARY_P:
        river.update(y, {1: p, 0: 1.0 - p})
    assert snap["roc_auc"] == round(float(river.get()), 4) > 0.5
    assert merge_snapshots([snap])["roc_auc"] == snap["roc_auc"]


@given(
    pairs=st.lists(
        st.tuples(st.sampled_from([0, 1]), st.floats(0.0, 1.0, allow_nan=False)), min_size=1
    )
)
def test_int_binary_roc_auc_equals_river_and_the_bool_run(pairs: list[tuple[int, float]]) -> None:
    river = metrics.ROCAUC(pos_val=1)
    for y, p in pairs:
        river.update(y, {1: p, 0: 1.0 - p})
    as_bool = [(bool(y), bool(yp), {True: p[1], False: p[0]}) for y, yp, p in int_rows(pairs)]
    snap = fed_classifier(int_rows(pairs)).snapshot()
    assert (
        snap["roc_auc"]
        == round(float(river.get()), 4)
        == fed_classifier(as_bool).snapshot()["roc_auc"]
    )


STRING_ROWS = [
    ("late", "late", {"late": 0.8, "early": 0.2}),
    ("early", "late", {"late": 0.6, "early": 0.4}),
    ("early", "early", {"late": 0.1, "early": 0.9}),
]
THREE_CLASS_ROWS = [
    (0, 0, {0: 0.7, 1: 0.2, 2: 0.1}),
    (2, 0, {0: 0.5, 1: 0.2, 2: 0.3}),
    (1, 1, {0: 0.1, 1: 0.8, 2: 0.1}),
]
BOOL_ROWS = [
    (True, True, {True: 0.8, False: 0.2}),
    (False, True, {True: 0.6, False: 0.4}),
    (False, False, {True: 0.3, False: 0.7}),
    (True, False, {True: 0.45, False: 0.55}),
]


@pytest.mark.parametrize(
    "rows", [STRING_ROWS, THREE_CLASS_ROWS, BOOL_ROWS + [("x", True, {True: 0.5})]]
)
def test_roc_auc_is_not_applicable_beyond_binary_labels(rows: list[Any]) -> None:
    snap = fed_classifier(rows).snapshot()
    assert snap["scored"] == len(rows) and snap["accuracy"] is not None
    assert snap["roc_auc"] is None
    assert merge_snapshots([snap, snap])["roc_auc"] is None


def test_roc_auc_is_none_when_nothing_was_scored_for_it() -> None:
    snap = fed_classifier([(True, True, None), (False, True, None)]).snapshot()
    assert snap["scored"] == 2 and snap["roc_auc"] is None


def test_merge_keeps_only_the_binary_task_s_roc_auc() -> None:
    binary = fed_classifier(BOOL_ROWS).snapshot()
    multiclass = fed_classifier(THREE_CLASS_ROWS).snapshot()
    assert binary["roc_auc"] is not None and multiclass["roc_auc"] is None
    assert merge_snapshots([binary, multiclass])["roc_auc"] == binary["roc_auc"]
    assert merge_snapshots([multiclass, binary])["roc_auc"] == binary["roc_auc"]


def test_metrics_score_returns_the_loss_promotions_compare() -> None:
    m = TaskMetrics("classification", costs=CostMatrix(5, 1))
    assert m.score(True, False, {True: 0.3, False: 0.7}, decision=True) == 0.0
    assert m.score(True, False, {True: 0.3, False: 0.7}, decision=False) == 5.0
    plain = TaskMetrics("classification")
    assert plain.score(True, True, {True: 0.5, False: 0.5}) == pytest.approx(0.6931, abs=1e-4)


# -- the majority label, kept as the counts grow -------------------------------------------
from collections import Counter as _Counter  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from driftline.core.learning.metrics import _after_one_more, _most_common  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([True, False, 1, 0, 2, "a", "b", 1.0]), max_size=60))
def test_the_kept_majority_is_the_one_max_finds(labels: list) -> None:
    counts: _Counter = _Counter()
    majority = None
    for label in labels:
        majority = _after_one_more(counts, majority, label)
        expected = _most_common(counts)
        assert majority == expected and type(majority) is type(expected)


def test_metrics_from_a_checkpoint_without_the_kept_majority_score_alike() -> None:
    import pickle
    from datetime import UTC, datetime, timedelta

    head = [("a", "a"), ("b", "b"), ("a", "b")]  # then "a" again: the majority's label
    rows = head + [("a", "a"), ("b", "a"), ("b", "b"), ("c", "a"), ("a", "b")] * 4
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    ran = TaskMetrics("classification", windows=(60,))
    for i, (y, p) in enumerate(head):
        ran.score(y, p, {p: 0.7}, at=t0 + timedelta(seconds=17 * i))
    old = pickle.loads(pickle.dumps(ran))
    del old.__dict__["_majority"]  # as a checkpoint made before it was kept
    del old.windows.__dict__["_until"]
    for i, (y, p) in enumerate(rows[3:], start=3):
        at = t0 + timedelta(seconds=17 * i)
        assert ran.score(y, p, {p: 0.7}, at=at) == old.score(y, p, {p: 0.7}, at=at)
    assert ran.snapshot() == old.snapshot() and ran.closed == old.closed
    assert ran.baseline_correct == old.baseline_correct > 0
