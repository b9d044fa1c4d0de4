"""QualityMetrics: counters pickled before feature names were bounded restore within the bound."""

from __future__ import annotations

from driftline.core.quality.figures import MAX_FEATURE_NAMES, QualityMetrics


def test_quality_counters_pickled_before_names_were_bounded_restore() -> None:
    metrics = QualityMetrics()
    metrics.note([("consistency", "unknown-feature", "a"), ("consistency", "spelling", "b")])
    old = dict(vars(metrics))  # as it was: no names, no bound
    for name in ("named", "feature_names", "max_feature_names"):
        del old[name]
    restored = QualityMetrics.__new__(QualityMetrics)
    restored.__setstate__(old)
    assert restored.snapshot() == metrics.snapshot()
    assert list(restored.named) == ["a", "b"] and restored.max_feature_names == MAX_FEATURE_NAMES
