"""The population stability index and ShareWindows: finite on empty bins, reference first."""

from __future__ import annotations

import math
import random

from driftline.core.drift.psi import ShareWindows, population_stability_index


def test_psi_is_finite_with_empty_bins_and_zero_when_equal() -> None:
    assert population_stability_index({"a": 10}, {"a": 10}) == 0.0
    psi = population_stability_index({"a": 100}, {"b": 100})
    assert math.isfinite(psi) and psi > 5
    assert population_stability_index({"a": 55, "b": 45}, {"a": 50, "b": 50}) < 0.1


def test_reference_first_catches_a_slow_drift_that_previous_misses() -> None:
    found = {}
    for reference in ("previous", "first"):
        windows = ShareWindows(1000, reference=reference)  # type: ignore[arg-type]
        rng = random.Random(8)
        alarms = []
        for i in range(20_000):  # the share of "b" creeps from 0.1 to 0.7
            alarms.append(windows.update("b" if rng.random() < 0.1 + 0.6 * i / 20_000 else "a"))
        found[reference] = [i for i, psi in enumerate(alarms) if psi is not None]
    assert found["previous"] == [] and found["first"]
