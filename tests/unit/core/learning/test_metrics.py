"""TaskMetrics and merge_snapshots against River's own metrics; the lateness histogram."""

from __future__ import annotations

import bisect
import json
import math
import statistics
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from river import dummy, metrics, utils

from driftline.core.durations import _BOUNDS, DurationHistogram
from driftline.core.learning.metrics import (
    BinnedROCAUC,
    RollingAccuracy,
    TaskMetrics,
    merge_models,
    merge_snapshots,
)

ROUNDING = 1e-4 + 1e-9  # snapshots round to 4 decimals; sums in another order may flip one


def river_value(metric: Any, pairs: list[tuple[Any, Any]]) -> float:
    for y_true, y_pred in pairs:
        metric.update(y_true, y_pred)
    return round(metric.get(), 4)


def fed(kind: str, rows: list[tuple[Any, Any, Any]], lateness: list[float] = ()) -> TaskMetrics:
    """A TaskMetrics fed ``(y_true, y_pred, probabilities)`` rows, as the task does."""
    m = TaskMetrics(kind)  # type: ignore[arg-type]
    for y_true, y_pred, proba in rows:
        m.score(y_true, y_pred, proba)
        m.counts["learned"] += 1
    for s in lateness:
        m.lateness.add(s)
        m.counts["observations"] += 1
    return m


# -- strategies ------------------------------------------------------------------------------------
probabilities = st.floats(0.0, 1.0, allow_nan=False)
binary_rows = st.lists(
    st.tuples(st.booleans(), st.booleans(), probabilities).map(
        lambda t: (t[0], t[1], {True: t[2], False: 1.0 - t[2]})
    ),
    min_size=1,
    max_size=60,
)
classes = st.sampled_from(["a", "b", "c"])
multiclass_rows = st.lists(
    st.tuples(classes, classes).map(lambda t: (t[0], t[1], {t[1]: 0.7})), min_size=1, max_size=60
)
numbers = st.floats(-1000, 1000, allow_nan=False)
regression_rows = st.lists(
    st.tuples(st.integers(-100, 100).map(float), numbers).map(lambda t: (t[0], t[1], None)),
    min_size=1,
    max_size=60,
)
lateness_values = st.lists(st.floats(-100, 1e11, allow_nan=False), max_size=30)


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


def test_merged_r2_of_targets_with_a_large_offset() -> None:
    """Chan's merge of means and m2s keeps the precision a merge of raw sums would lose."""
    rows = [(1.7e9 + i, 1.7e9 + i + 0.5, None) for i in range(10)]
    parts = [fed("regression", rows[:3]), fed("regression", rows[3:4]), fed("regression", [])]
    parts.append(fed("regression", rows[4:]))
    merged = merge_snapshots([p.snapshot() for p in parts])
    single = fed("regression", rows).snapshot()
    assert merged["scored"] == 10
    assert merged["y_mean"] == pytest.approx(1.7e9 + 4.5, rel=1e-12)
    assert merged["y_m2"] == pytest.approx(82.5, rel=1e-6)  # sum of (i - 4.5)^2, i < 10
    assert merged["r2"] == single["r2"] == pytest.approx(1 - 2.5 / 82.5, abs=1e-4)


# -- merging ---------------------------------------------------------------------------------------
ADDITIVE_CLASSIFICATION = ["accuracy", "precision", "recall", "f1", "log_loss", "majority_share"]
ADDITIVE_REGRESSION = ["mae", "rmse", "r2"]


def assert_merged_equals_single(kind: str, first: list[Any], second: list[Any]) -> None:
    a = fed(kind, first, lateness=[1.0] * len(first))
    b = fed(kind, second, lateness=[100.0] * len(second))
    both = fed(kind, first + second, lateness=[1.0] * len(first) + [100.0] * len(second))
    merged = merge_snapshots([a.snapshot(), b.snapshot()])
    single = both.snapshot()
    assert merged["counts"] == single["counts"]
    assert merged["scored"] == single["scored"]
    assert merged["lateness_buckets"] == single["lateness_buckets"]
    assert merged["lateness_seconds"] == single["lateness_seconds"]
    names = ADDITIVE_CLASSIFICATION if kind == "classification" else ADDITIVE_REGRESSION
    for name in names:
        if single[name] is None:
            assert merged[name] is None, name
        else:
            assert merged[name] == pytest.approx(single[name], abs=ROUNDING), name
    if kind == "classification":
        assert sorted(map(repr, merged["confusion"])) == sorted(map(repr, single["confusion"]))
        assert merged["cross_entropy_sum"] == pytest.approx(single["cross_entropy_sum"])
    else:
        for name in ["abs_error_sum", "sq_error_sum", "y_mean"]:
            assert merged[name] == pytest.approx(single[name], rel=1e-9, abs=1e-9), name
        # Chan's merge and one Welford pass round differently: compare at the data's scale
        assert merged["y_m2"] == pytest.approx(single["y_m2"], rel=1e-9, abs=1e-6)


@given(first=binary_rows, second=binary_rows)
def test_merge_equals_one_task_fed_both_classification(first: list[Any], second: list[Any]) -> None:
    assert_merged_equals_single("classification", first, second)
    # binary labels: the total ROC AUC is the one of the pooled predictions, bin for bin
    merged = merge_snapshots([fed("classification", rows).snapshot() for rows in (first, second)])
    assert merged["roc_auc"] == fed("classification", first + second).snapshot()["roc_auc"]


def test_the_total_roc_auc_is_the_pooled_predictions_not_a_mean_of_the_tasks() -> None:
    """Issue 19, defect 8: two partitions that each rank their own labels perfectly, but
    each other's badly: each scores 1.0, the pooled predictions 0.75 (River's figure)."""
    first = [(False, False, 0.1), (True, False, 0.3)]
    second = [(False, True, 0.6), (True, True, 0.9)]
    parts = [
        fed("classification", [(y, p, {True: q, False: 1 - q}) for y, p, q in rows]).snapshot()
        for rows in (first, second)
    ]
    assert [part["roc_auc"] for part in parts] == [1.0, 1.0]
    river = metrics.ROCAUC()
    for y, _, q in first + second:
        river.update(y, {True: q, False: 1 - q})
    assert river.get() == pytest.approx(0.75)
    merged = merge_snapshots(parts)
    assert merged["roc_auc"] == pytest.approx(river.get(), abs=1e-4)
    # the totals carry the summed histograms: a total merges on with another snapshot
    again = merge_snapshots([merged, parts[0]])
    assert again["roc_pos"] == [0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0]  # 0.3 twice, 0.9 once
    assert again["roc_neg"] == [0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0]  # 0.1 twice, 0.6 once
    # ... and so do the totals per model, which read the same snapshots
    models = merge_models(
        [
            part | {"partition": i, "models": {"main": {"champion": True, "scores": part}}}
            for i, part in enumerate(parts)
        ]
    )
    assert models["main"]["scores"]["roc_auc"] == pytest.approx(0.75, abs=1e-4)


def test_snapshots_without_roc_histograms_still_merge_to_the_weighted_mean() -> None:
    """A snapshot written before the histograms were (a worker not upgraded yet)."""
    a = fed("classification", [(True, True, {True: 0.9}), (False, False, {True: 0.2})])
    b = fed("classification", [(True, False, {True: 0.2}), (False, True, {True: 0.9})])
    old = [
        {k: v for k, v in m.snapshot().items() if k not in ("roc_pos", "roc_neg")} for m in (a, b)
    ]
    assert merge_snapshots(old)["roc_auc"] == 0.5  # (1.0 * 2 + 0.0 * 2) / 4


@given(first=multiclass_rows, second=multiclass_rows)
def test_merge_equals_one_task_fed_both_multiclass(first: list[Any], second: list[Any]) -> None:
    assert_merged_equals_single("classification", first, second)


@given(first=regression_rows, second=regression_rows)
def test_merge_equals_one_task_fed_both_regression(first: list[Any], second: list[Any]) -> None:
    assert_merged_equals_single("regression", first, second)


def test_merge_of_nothing_and_of_one() -> None:
    assert merge_snapshots([]) == {"counts": {}, "dead_letters": {}, "scored": 0}
    snap = fed("classification", [(True, True, {True: 0.8, False: 0.2})]).snapshot()
    merged = merge_snapshots([snap])
    for name in ["accuracy", "log_loss", "roc_auc", "rolling_accuracy", "scored", "counts"]:
        assert merged[name] == snap[name], name


def test_merge_weights_the_non_additive_scores() -> None:
    a = fed("classification", [(True, True, {True: 0.9, False: 0.1})] * 3).snapshot()
    b = fed("classification", [(False, True, {True: 0.9, False: 0.1})]).snapshot()
    merged = merge_snapshots([a, b])
    assert merged["rolling_accuracy"] == round((1.0 * 3 + 0.0 * 1) / 4, 4)
    assert merged["rolling_n"] == 4


# -- the lateness histogram ------------------------------------------------------------------------
def bucket_of(value: float) -> int:
    return bisect.bisect_left(_BOUNDS, value)


@given(values=lateness_values.filter(bool), q=st.floats(0.0, 1.0))
def test_quantiles_bracket_the_true_quantile_within_one_bucket(
    values: list[float], q: float
) -> None:
    hist = DurationHistogram()
    for v in values:
        hist.add(v)
    got = hist.quantile(q)
    # the value of rank ceil(q*n) (1-based; the smallest for q=0) ...
    k = max(1, math.ceil(q * len(values)))
    true = sorted(values)[k - 1]
    # ... lies in the bucket whose upper bound the histogram answers
    index = bucket_of(true)
    lower = _BOUNDS[index - 1] if index > 0 else -math.inf
    assert got is not None
    assert lower < true <= got
    assert got == (_BOUNDS[index] if index < len(_BOUNDS) else math.inf)


@given(a=lateness_values, b=lateness_values)
def test_histogram_merge_is_adding(a: list[float], b: list[float]) -> None:
    ha, hb, hab = DurationHistogram(), DurationHistogram(), DurationHistogram()
    for v in a:
        ha.add(v)
        hab.add(v)
    for v in b:
        hb.add(v)
        hab.add(v)
    assert ha.merge(hb).counts == hab.counts
    assert hab.count == len(a) + len(b)


def test_histogram_edges() -> None:
    hist = DurationHistogram()
    assert hist.quantile(0.5) is None
    hist.add(-5.0)  # event time ahead of ingest
    hist.add(0.0)
    assert hist.counts[0] == 2 and hist.quantile(1.0) == 0.0
    hist.add(1e12)  # beyond the last bound
    assert hist.quantile(1.0) == math.inf
    assert DurationHistogram(hist.counts).counts == hist.counts


# -- JSON ------------------------------------------------------------------------------------------
def round_trip(snap: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(snap, allow_nan=False))


mixed_labels = st.sampled_from([True, False, "late", "early"])
mixed_rows = st.lists(
    st.tuples(mixed_labels, mixed_labels | st.none(), probabilities).map(
        lambda t: (t[0], t[1], {t[0]: t[2]})
    ),
    max_size=30,
)


@settings(max_examples=50)
@given(
    first=mixed_rows,
    second=mixed_rows,
    lateness=lateness_values.filter(lambda v: max(v, default=0) < 1e9),
)
def test_snapshots_survive_json_and_merge_the_same(
    first: list[Any], second: list[Any], lateness: list[float]
) -> None:
    a = fed("classification", first, lateness).snapshot()
    b = fed("classification", second).snapshot()
    assert round_trip(a) == a and round_trip(b) == b
    for t, p, _ in a["confusion"]:
        assert isinstance(t, bool | str) and isinstance(p, bool | str)  # None is not scored
    assert a["scored"] + a["counts"].get("unscored", 0) == len(first)
    assert merge_snapshots([round_trip(a), round_trip(b)]) == merge_snapshots([a, b])


@given(first=regression_rows, second=regression_rows)
def test_regression_snapshots_survive_json(first: list[Any], second: list[Any]) -> None:
    a = fed("regression", first).snapshot()
    b = fed("regression", second).snapshot()
    assert round_trip(a) == a
    assert merge_snapshots([round_trip(a), round_trip(b)]) == merge_snapshots([a, b])


def test_empty_snapshot_is_json_ready() -> None:
    for kind in ("classification", "regression"):
        snap = TaskMetrics(kind).snapshot()  # type: ignore[arg-type]
        assert round_trip(snap) == snap
        assert snap["scored"] == 0 and "accuracy" not in snap and "mae" not in snap
        assert merge_snapshots([round_trip(snap), snap])["scored"] == 0


# -- the counters equal River's own metrics, bit for bit ---------------------------------------


_PROBS = st.one_of(
    st.floats(min_value=0.0, max_value=1.0),
    st.sampled_from([0.0, 1.0, 1 / 9, 2 / 9, 0.5, 1e-7, 1 - 1e-7, -1e-7 + 1 / 9]),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from([True, False, 0, 1]), _PROBS), max_size=60))
def test_binned_roc_auc_is_rivers_roc_auc(rows):
    ours, river = BinnedROCAUC(), metrics.ROCAUC()
    for y, p in rows:
        ours.update(y, {True: p, False: 1 - p})
        river.update(y, {True: p, False: 1 - p})
        assert ours.get() == river.get()


@settings(max_examples=200, deadline=None)
@given(
    window=st.integers(min_value=1, max_value=7),
    rows=st.lists(
        st.tuples(
            st.sampled_from([True, False, 0, 1, "a"]), st.sampled_from([True, False, 1, "a"])
        ),
        max_size=40,
    ),
)
def test_rolling_accuracy_is_rivers_rolling_accuracy(window, rows):
    ours, river = (
        RollingAccuracy(window),
        utils.Rolling(metrics.Accuracy, window_size=window),
    )
    for y, p in rows:
        ours.update(y, p)
        river.update(y, p)
        assert ours.get() == river.get()
