"""merge_snapshots and merge_models: the totals of many tasks equal one task fed
everything, and survive JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from river import metrics

from driftline.core.learning.metrics import TaskMetrics, merge_models, merge_snapshots
from tests.unit.core.learning.scored_rows import (
    ROUNDING,
    binary_rows,
    fed,
    lateness_values,
    multiclass_rows,
    probabilities,
    regression_rows,
)


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
