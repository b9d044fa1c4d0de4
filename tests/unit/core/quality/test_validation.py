"""Two windows compared feature by feature (``driftline validate``): what is flagged and
what is not, on seeded samples with known differences."""

from __future__ import annotations

import json

import pytest

from driftline.core import jsonsafe
from driftline.core.quality.validation import Profile, compare
from tests.unit.core.quality.samples import sample


def flags(reference: Profile, current: Profile) -> dict[str, list[str]]:
    return {c.feature: c.flags for c in compare(reference, current)}


def test_two_samples_of_the_same_stream_raise_no_flag() -> None:
    for seed in range(5):
        assert flags(sample(seed), sample(100 + seed)) == {"temp": [], "carrier": [], "wind": []}


def test_a_shifted_mean_is_flagged_by_psi_and_test() -> None:
    found = {c.feature: c for c in compare(sample(1), sample(2, shift=4.0))}
    assert found["temp"].flags == ["distribution", "test"]
    assert found["temp"].test == "Kolmogorov-Smirnov" and found["temp"].p_value < 1e-6
    assert found["carrier"].flags == [] and found["wind"].flags == []


def test_a_small_shift_is_significant_but_not_flagged() -> None:
    """With thousands of values a p-value alone flags what does not matter."""
    [temp] = [c for c in compare(sample(1), sample(2, shift=0.5)) if c.feature == "temp"]
    assert temp.p_value is not None and temp.p_value < 0.05
    assert temp.flags == []


def test_category_shares_missing_rates_and_new_categories() -> None:
    assert flags(sample(1), sample(2, carriers="AAAAAAUD"))["carrier"] == ["distribution", "test"]
    assert flags(sample(1), sample(2, missing=0.2))["wind"] == ["missing"]
    new = {c.feature: c for c in compare(sample(1), sample(2, carriers="AAUUDDBBX"))}["carrier"]
    assert "new categories" in new.flags
    assert new.outside_share == pytest.approx(1 / 9, abs=0.02)


def test_values_outside_the_reference_range() -> None:
    reference = Profile.of([{"x": float(i % 100)} for i in range(1000)])
    current = Profile.of(
        [{"x": float(i % 100) + (500.0 if i % 20 == 0 else 0.0)} for i in range(1000)]
    )
    [x] = compare(reference, current)
    assert x.range_reference == (0.0, 99.0) and x.range_current == (1.0, 580.0)
    assert x.outside_share == pytest.approx(0.05)
    assert "range" in x.flags


def test_a_feature_of_one_window_only_is_all_missing_in_the_other() -> None:
    reference = Profile.of([{"a": 1.0} for _ in range(100)])
    current = Profile.of([{"a": 1.0, "b": "x"} for _ in range(100)])
    b = {c.feature: c for c in compare(reference, current)}["b"]
    assert (b.missing_reference, b.missing_current) == (1.0, 0.0)
    assert "missing" in b.flags
    assert b.psi is None  # nothing to compare a distribution with


def test_missing_counts_absent_none_and_nan_alike() -> None:
    profile = Profile.of([{"a": 1.0}, {"a": None}, {"a": float("nan")}, {}])
    assert profile.column("a").missing == 3 and profile.column("a").numbers == [1.0]
    late = Profile.of([{}, {}, {"b": 2.0}])  # first seen on the third observation
    assert late.column("b").missing == 2


def test_the_comparison_is_strict_json_and_the_same_every_time() -> None:
    first = [c.to_dict() for c in compare(sample(1), sample(2, shift=4.0))]
    again = [c.to_dict() for c in compare(sample(1), sample(2, shift=4.0))]
    assert first == again
    assert json.loads(jsonsafe.dumps(first)) == first
