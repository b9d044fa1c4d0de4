"""CostMatrix and ThresholdTuner: the Bayes threshold of the costs, and the tuner finds
the cheapest threshold of what it saw."""

from __future__ import annotations

import random

import pytest

from driftline.core.learning.costs import CostMatrix, ThresholdTuner, decide


def test_bayes_threshold_and_costs() -> None:
    costs = CostMatrix(false_negative=5, false_positive=1)
    assert costs.bayes_threshold == pytest.approx(1 / 6)
    assert decide({True: 0.2, False: 0.8}, costs.bayes_threshold) is True
    assert decide({1: 0.1, 0: 0.9}, costs.bayes_threshold) == 0
    assert decide({"a": 0.7, "b": 0.3}, 0.9) == "a"  # not binary: the argmax
    with pytest.raises(ValueError):
        CostMatrix(-1, 1)


def test_the_tuner_finds_the_cheapest_threshold_of_what_it_saw() -> None:
    """Brute force over every threshold on the same scores agrees with the tuner."""
    rng = random.Random(3)
    costs = CostMatrix(5, 1)
    tuner = ThresholdTuner(costs, window=2000, min_labels=100, every=1, bins=50)
    seen = []
    for _ in range(2000):
        positive = rng.random() < 0.25
        p = min(max(rng.gauss(0.45 if positive else 0.3, 0.12), 0.0), 0.999)
        tuner.update(p, positive)
        seen.append((int(p * 50), positive))

    def cost_at(k: int) -> float:
        return sum(costs.cost(y, b >= k) for b, y in seen)

    best = min(cost_at(k) for k in range(52))
    assert cost_at(round(tuner.threshold * 50)) == best
    assert tuner.threshold != pytest.approx(costs.bayes_threshold)  # it moved: not calibrated
