"""River's drift detectors by name: their parameters, twins and the evidence each holds."""

from __future__ import annotations

import math
import random

import pytest

from driftline.core.drift.detectors import PARAMETERS, evidence
from driftline.core.drift.monitors import DETECTORS, DetectorName, make_detector
from driftline.core.errors import ConfigError


def test_make_detector_names_and_twins() -> None:
    with pytest.raises(ConfigError, match="ADWIN, DDM, EDDM, PageHinkley, KSWIN"):
        make_detector("CUSUM")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="warning of its own"):
        make_detector("DDM", warning=True)
    assert make_detector("ADWIN", warning=True).delta > make_detector("ADWIN").delta
    twin = make_detector("PageHinkley", warning=True)
    assert twin.threshold < make_detector("PageHinkley").threshold
    assert make_detector("KSWIN", seed=9).seed == 9
    assert set(PARAMETERS) == set(DETECTORS)


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("ADWIN", {"estimation", "variance", "width"}),
        ("DDM", {"error_rate", "std", "min_error_rate", "min_std"}),
        ("EDDM", {"mean_distance", "std_distance", "max_mean_plus_2std", "errors"}),
        ("PageHinkley", {"mean", "increase", "decrease", "threshold"}),
        ("KSWIN", {"p_value", "alpha"}),
    ],
)
def test_evidence_reads_what_each_detector_holds(name: DetectorName, keys: set[str]) -> None:
    """Pins River's (partly private) state for the version in use."""
    rng = random.Random(2)
    detector = make_detector(name)
    for i in range(3000):
        detector.update(int(rng.random() < (0.1 if i < 1500 else 0.5)))
        if detector.drift_detected:
            break
    assert detector.drift_detected, name
    statistic, window = evidence(detector)
    assert set(statistic) == keys and window > 0
    assert all(type(v) is float and math.isfinite(v) for v in statistic.values())
