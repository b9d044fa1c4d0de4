"""Data quality as figures: findings per dimension and rule, per feature, per source.

*Machine Learning Design Patterns* (ch. 1) names four dimensions of data quality, and
every rule a task applies belongs to one of them (:class:`~driftline.core.quality.reasons.Rule`
carries its :class:`~driftline.core.quality.reasons.Dimension`; :data:`DIMENSION_OF`):

- **accuracy**: duplicates, near duplicates, values out of range, impossible combinations,
  conflicting outcomes, wrong types;
- **completeness**: missing values (imputed or refused), categories outside the known set,
  outcomes with no observation to resolve;
- **consistency**: units converted, spellings made canonical, numbers sent as text, time
  zones, schema and format defects;
- **timeliness**: events beyond the allowed lateness, clocks in the future or too old.

A :class:`QualityMetrics` counts what a task found, as sums that add up across tasks
(:func:`merge_quality`), and turns them into one score per dimension: the share of
records with no finding of that dimension (completeness, when a contract declares the
features: the share of declared values present).

>>> from driftline.core.quality.reasons import Rule
>>> q = QualityMetrics()
>>> converted, spelling, imputed = Rule.UNIT_CONVERTED, Rule.SPELLING, Rule.MISSING_IMPUTED
>>> q.note([(converted.dimension, converted, "distance"),
...         (spelling.dimension, spelling, "carrier")])
>>> q.note([(imputed.dimension, imputed, "distance")])
>>> q.checked(declared=10, missing=["distance"])
>>> snap = q.snapshot()
>>> snap["rules"]["consistency"]
{'unit-converted': 1, 'spelling': 1}
>>> totals = merge_quality([snap, snap], records=40)
>>> totals["dimensions"]["consistency"]["events"], totals["dimensions"]["consistency"]["score"]
(2, 0.95)
>>> totals["dimensions"]["completeness"]["score"]  # 18 of 20 declared values present
0.9

Feature names come from the data (an unknown feature dropped by a contract is counted
under its name), so past ``max_feature_names`` names besides those the contract declares,
findings count under :data:`OTHER_FEATURE`: memory and every snapshot stay bounded.

>>> q = QualityMetrics(max_feature_names=2, feature_names=("distance",))
>>> unknown = Rule.UNKNOWN_FEATURE
>>> q.note([(unknown.dimension, unknown, f"x{i}") for i in range(5)])
>>> q.checked(declared=1, missing=["distance"])
>>> features = q.snapshot()["features"]
>>> list(features), features["(other)"]
(['x0', 'x1', '(other)', 'distance'], {'unknown-feature': 3})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from driftline.core.durations import DurationHistogram
from driftline.core.quality.reasons import DIMENSION_OF, DIMENSIONS, Dimension

__all__ = [
    "DIMENSIONS",
    "DIMENSION_OF",
    "MAX_FEATURE_NAMES",
    "MAX_SOURCES",
    "OTHER_FEATURE",
    "QualityFinding",
    "QualityMetrics",
    "merge_quality",
]

#: Sources with a lateness histogram of their own; later ones share ``"(other)"``.
MAX_SOURCES = 64
OTHER_SOURCE = "(other)"
#: Feature names with counters of their own by default (``DRIFTLINE_QUALITY_MAX_FEATURE_NAMES``)
#: besides those a contract declares; later ones share ``"(other)"``.
MAX_FEATURE_NAMES = 256
OTHER_FEATURE = "(other)"


class QualityFinding(NamedTuple):
    """One finding about one record, as the quality log keeps it.

    ``action`` says what became of the record: ``accepted`` (used, with any value the
    contract converted, filled or respelled), ``dead-letter``, ``dropped`` (an exact
    duplicate), ``predicted-only`` (late beyond the allowed lateness: served, not learned).
    """

    partition: int
    offset: int
    event_id: str | None
    kind: str | None
    dimension: str
    rule: str
    feature: str | None
    action: str


class QualityMetrics:
    """What a task's quality rules found, as sums (checkpointed with the task).

    Each of the contract's ``feature_names`` has counters of its own, and so do the
    first ``max_feature_names`` other names found; findings about later ones are counted
    under :data:`OTHER_FEATURE`.
    """

    def __init__(
        self, max_feature_names: int = MAX_FEATURE_NAMES, feature_names: Iterable[str] = ()
    ) -> None:
        if max_feature_names < 0:
            raise ValueError(f"max_feature_names must be at least 0, got {max_feature_names}")
        self.max_feature_names = max_feature_names
        #: The contract's features: each always has counters of its own.
        self.feature_names = frozenset(feature_names)
        #: Names not declared that have counters of their own, in the order first found.
        self.named: dict[str, None] = {}
        #: "dimension/rule" -> findings.
        self.rules: Counter[str] = Counter()
        #: dimension -> records with at least one finding of it.
        self.events: Counter[str] = Counter()
        #: "feature/rule" -> findings ("feature/missing" counts every missing value).
        self.features: Counter[str] = Counter()
        #: Values a contract declared, over the observations it checked, and those missing.
        self.declared = 0
        self.missing = 0
        #: Lateness per source (a feature named by the contract), as histogram counts.
        self.sources: dict[str, DurationHistogram] = {}

    def note(self, findings: Iterable[tuple[str, str, str | None]]) -> None:
        """The (dimension, rule, feature) findings of one record."""
        seen: set[str] = set()
        for dimension, rule, feature in findings:
            self.rules[f"{dimension}/{rule}"] += 1
            if feature is not None:
                self.features[f"{self._counted_as(feature)}/{rule}"] += 1
            if dimension not in seen:
                seen.add(dimension)
                self.events[dimension] += 1

    def checked(self, declared: int, missing: Iterable[str]) -> None:
        """An observation checked against a contract that declares ``declared`` values,
        of which the features ``missing`` were absent (counted per feature too)."""
        self.declared += declared
        for name in missing:
            self.missing += 1
            self.features[f"{self._counted_as(name)}/missing"] += 1

    def _counted_as(self, feature: str) -> str:
        """The name ``feature``'s findings count under: its own, or past the bound
        :data:`OTHER_FEATURE`."""
        if feature in self.feature_names or feature in self.named:
            return feature
        if len(self.named) < self.max_feature_names:
            self.named[feature] = None
            return feature
        return OTHER_FEATURE

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore pickled metrics, also from before feature names were bounded (every
        name counted so far keeps its counters)."""
        if "named" not in state:
            names = dict.fromkeys(name.rsplit("/", 1)[0] for name in state["features"])
            state["named"] = names
            state["feature_names"] = frozenset()
            state["max_feature_names"] = max(MAX_FEATURE_NAMES, len(names))
        self.__dict__.update(state)

    def source_histogram(self, source: str) -> DurationHistogram:
        """The lateness histogram of ``source``; past :data:`MAX_SOURCES`, a shared one."""
        histogram = self.sources.get(source)
        if histogram is None:
            if len(self.sources) >= MAX_SOURCES:
                source = OTHER_SOURCE
                histogram = self.sources.get(source)
            if histogram is None:
                histogram = self.sources[source] = DurationHistogram()
        return histogram

    def snapshot(self) -> dict[str, Any]:
        rules: dict[str, dict[str, int]] = {}
        for name, n in self.rules.items():
            dimension, rule = name.split("/", 1)
            rules.setdefault(dimension, {})[rule] = n
        features: dict[str, dict[str, int]] = {}
        for name, n in self.features.items():
            feature, rule = name.rsplit("/", 1)
            features.setdefault(feature, {})[rule] = n
        return {
            "rules": rules,
            "events": {str(dimension): n for dimension, n in self.events.items()},
            "features": features,
            "declared": self.declared,
            "missing": self.missing,
            "sources": {
                name: {"buckets": list(h.counts), "sum_s": h.total}
                for name, h in sorted(self.sources.items())
            },
        }


def merge_quality(
    snapshots: Iterable[Mapping[str, Any]],
    records: int,
    labels: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Totals over tasks' quality snapshots, with a score per dimension.

    ``records``: the records the tasks read (the denominator of the scores); ``labels``:
    the counts that say what became of the predictions' labels (``predictions``,
    ``learned``, ``pending``, ``expired``, ``late_not_learned``, ``late_labels``), for the
    label coverage.
    """
    rules: dict[str, Counter[str]] = {d.value: Counter() for d in DIMENSIONS}
    events: Counter[str] = Counter()
    features: dict[str, Counter[str]] = {}
    sources: dict[str, dict[str, Any]] = {}
    per_minute: Counter[str] = Counter()
    declared = missing = 0
    for snap in snapshots:
        per_minute.update(snap.get("per_minute", {}))
        for dimension, counts in snap.get("rules", {}).items():
            rules.setdefault(dimension, Counter()).update(counts)
        events.update(snap.get("events", {}))
        for feature, counts in snap.get("features", {}).items():
            features.setdefault(feature, Counter()).update(counts)
        declared += snap.get("declared", 0)
        missing += snap.get("missing", 0)
        for name, hist in snap.get("sources", {}).items():
            held = sources.get(name)
            if held is None:
                sources[name] = {"buckets": list(hist["buckets"]), "sum_s": hist["sum_s"]}
            else:
                held["buckets"] = [
                    a + b for a, b in zip(held["buckets"], hist["buckets"], strict=True)
                ]
                held["sum_s"] += hist["sum_s"]
    dimensions: dict[str, Any] = {}
    for dimension in DIMENSIONS:
        flagged = events.get(dimension, 0)
        score = 1.0 - flagged / records if records else None
        if dimension == Dimension.COMPLETENESS and declared:
            score = 1.0 - missing / declared
        dimensions[dimension.value] = {
            "events": flagged,
            "findings": sum(rules[dimension].values()),
            "score": None if score is None else round(max(score, 0.0), 6),
            "rules": dict(sorted(rules[dimension].items())),
        }
    out: dict[str, Any] = {
        "dimensions": dimensions,
        "features": {name: dict(sorted(c.items())) for name, c in sorted(features.items())},
        "declared": declared,
        "missing": missing,
        "sources": sources,
        # findings per minute of wall time, by "dimension/rule" (the workers' last minute)
        "per_minute": {name: round(n, 3) for name, n in sorted(per_minute.items())},
    }
    if labels is not None:
        out["labels"] = label_coverage(labels)
    return out


def label_coverage(counts: Mapping[str, int]) -> dict[str, Any]:
    """What became of the predictions' labels: learned, still pending, scored but not
    learned (a late observation under ``predict-only``), or expired because the outcome
    came after the pending TTL (``late_labels``) or never came.

    >>> label_coverage({"predictions": 10, "learned": 7, "pending": 1, "expired": 2,
    ...                 "late_labels": 1})["coverage"]
    0.7
    """
    predictions = counts.get("predictions", 0)
    learned = counts.get("learned", 0)
    not_learned = counts.get("late_not_learned", 0)
    expired = counts.get("expired", 0)
    late = min(counts.get("late_labels", 0), expired)
    return {
        "predictions": predictions,
        "learned": learned,
        "pending": counts.get("pending", 0),
        "late_not_learned": not_learned,
        "expired": expired,
        "expired_label_came_later": late,
        "expired_never_sent": expired - late,
        "coverage": round(learned / predictions, 6) if predictions else None,
    }
