"""The score of a worker's data-quality findings against the faults injected into its
stream (:mod:`driftline.producers.faults`), per quality dimension: what share of the
faults one of their rules (:attr:`Fault.rules <driftline.producers.fault_kinds.Fault.rules>`)
caught, and how many clean events were flagged.

A worker that finds every duplicate, nothing else, and flags one clean flight:

>>> from driftline.core.quality.reasons import Dimension, Rule
>>> from driftline.producers.fault_kinds import Fault
>>> duplicate, conflicting = Fault.DUPLICATE, Fault.CONFLICTING_LABEL
>>> truth = [InjectedFault(f"f{i}", "observation", duplicate, duplicate.dimension)
...          for i in range(3)]
>>> truth.append(InjectedFault("f9", "outcome", conflicting, conflicting.dimension))
>>> found = (Rule.DUPLICATE.dimension, Rule.DUPLICATE)
>>> findings = [(f"f{i}", "observation", *found) for i in (0, 1, 2, 5)]
>>> score = score_faults(truth, findings, clean_events=400)
>>> accuracy = score.dimensions[Dimension.ACCURACY]
>>> accuracy.injected, accuracy.caught, accuracy.false_alarms, accuracy.false_share
(4, 3, 1, 0.0025)
>>> score.faults[duplicate], score.faults[conflicting], score.passed()
((3, 3), (1, 0), False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from driftline.core.errors import ConfigError
from driftline.core.quality.reasons import DIMENSIONS
from driftline.producers.fault_kinds import EXPECTED_RULES, FAULTS
from driftline.producers.fault_truth import InjectedFault

__all__ = ["DimensionScore", "FaultScore", "Finding", "score_faults"]

#: A worker's finding as the score reads it: (event_id, kind, dimension, rule).
Finding = tuple[str, str, str, str]


@dataclass(frozen=True)
class DimensionScore:
    """One dimension's faults caught, and its false alarms over the clean events."""

    injected: int
    caught: int
    false_alarms: int
    clean_events: int
    rules: Mapping[str, int]

    @property
    def caught_share(self) -> float | None:
        """Caught over injected (``None``: nothing injected)."""
        return self.caught / self.injected if self.injected else None

    @property
    def false_share(self) -> float:
        """Clean events flagged in this dimension over the clean events."""
        return self.false_alarms / self.clean_events if self.clean_events else 0.0


@dataclass(frozen=True)
class FaultScore:
    """The score of a run: per dimension, and per fault (injected, caught)."""

    dimensions: Mapping[str, DimensionScore]
    faults: Mapping[str, tuple[int, int]]

    def passed(self, min_caught: float = 0.99, max_false: float = 0.01) -> bool:
        """Every dimension with faults caught at least ``min_caught`` of them, and none
        flagged more than ``max_false`` of the clean events."""
        return all(
            (d.caught_share is None or d.caught_share >= min_caught) and d.false_share <= max_false
            for d in self.dimensions.values()
        )

    def to_json(self) -> dict[str, Any]:
        """The score as plain JSON values (a dict, for ``json.dumps``; names as plain
        strings)."""
        return {
            "dimensions": {
                str(name): {
                    "injected": d.injected,
                    "caught": d.caught,
                    "caught_share": d.caught_share,
                    "false_alarms": d.false_alarms,
                    "false_share": d.false_share,
                    "rules": dict(d.rules),
                }
                for name, d in self.dimensions.items()
            },
            "faults": {
                str(name): {"injected": i, "caught": c} for name, (i, c) in self.faults.items()
            },
        }


def score_faults(
    truth: Iterable[InjectedFault], findings: Iterable[Finding], clean_events: int
) -> FaultScore:
    """Score ``findings`` (repeats ignored) against the ground truth.

    A truth row is caught when a finding on its event id has its dimension and a rule of
    :data:`~driftline.producers.fault_kinds.EXPECTED_RULES` for its fault. A false alarm is
    an event id outside the truth with a finding of the dimension (each id counted once),
    shared over ``clean_events``.
    """
    rows = list(truth)
    found = {tuple(f) for f in findings}
    flagged: dict[str, set[tuple[str, str]]] = {}
    rules: dict[str, dict[str, int]] = {d: {} for d in DIMENSIONS}
    for event_id, _kind, dimension, rule in found:
        if dimension not in rules:
            raise ConfigError(f"finding of unknown dimension {dimension!r} on {event_id}")
        flagged.setdefault(event_id, set()).add((dimension, rule))
        rules[dimension][rule] = rules[dimension].get(rule, 0) + 1
    faulted = {row.event_id for row in rows}
    false: dict[str, int] = {d: 0 for d in DIMENSIONS}
    for event_id, marks in flagged.items():
        if event_id not in faulted:
            for dimension in {d for d, _ in marks}:
                false[dimension] += 1
    injected: dict[str, int] = {d: 0 for d in DIMENSIONS}
    caught: dict[str, int] = {d: 0 for d in DIMENSIONS}
    by_fault: dict[str, list[int]] = {f: [0, 0] for f in FAULTS}
    for row in rows:
        marks = flagged.get(row.event_id, set())
        hit = any((row.dimension, rule) in marks for rule in EXPECTED_RULES[row.fault])
        injected[row.dimension] += 1
        caught[row.dimension] += hit
        by_fault[row.fault][0] += 1
        by_fault[row.fault][1] += hit
    dimensions: dict[str, DimensionScore] = {
        d: DimensionScore(
            injected[d], caught[d], false[d], clean_events, dict(sorted(rules[d].items()))
        )
        for d in DIMENSIONS
    }
    return FaultScore(dimensions, {f: (i, c) for f, (i, c) in by_fault.items()})
