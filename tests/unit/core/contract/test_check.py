"""ContractCheck: every step and policy of the check (units, missing values and
imputation, types, spellings and categories, ranges, unknown features, rules), the
findings it returns, and the state it learns from, through a pickle round trip."""

from __future__ import annotations

import copy
import math
import pickle
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftline.adapters.contract_files import builtin_contract
from driftline.core.contract.check import (
    MAX_COUNTED_VALUES,
    Checked,
    Contract,
    ContractCheck,
    ContractState,
    FeatureSpec,
    Finding,
)
from driftline.core.events.model import FeatureValue

FLIGHTS = builtin_contract("flights")


def contract(features: dict[str, Any], **keys: Any) -> Contract:
    return Contract.model_validate({"features": features, **keys})


def checker(features: dict[str, Any], **keys: Any) -> ContractCheck:
    return ContractCheck(contract(features, **keys))


def run(
    check: ContractCheck, features: dict[str, Any], state: ContractState | None = None
) -> Checked:
    return check.check(features, state or check.new_state())


def rules_of(checked: Checked) -> list[tuple[str, str, str | None]]:
    return [(f.dimension, f.rule, f.feature) for f in checked.findings]


# --------------------------------------------------------------------------------------
# The unit field
# --------------------------------------------------------------------------------------

DISTANCE = {"distance": {"unit": "mi", "unit_field": "distance_unit", "range": [10, 6000]}}


def test_a_tagged_value_is_converted_and_the_unit_field_consumed() -> None:
    checked = run(checker(DISTANCE), {"distance": 1000, "distance_unit": "km"})
    assert checked.features == {"distance": pytest.approx(621.371192)}
    assert rules_of(checked) == [("consistency", "unit-converted", "distance")]
    assert checked.findings[0].detail.startswith("distance=1000 km converted to 621.37")
    assert checked.refused is None


def test_a_tag_in_the_contracts_unit_changes_nothing_whatever_its_spelling() -> None:
    for tag in ("mi", "miles", "Mile"):
        checked = run(checker(DISTANCE), {"distance": 1000.0, "distance_unit": tag})
        assert checked.features == {"distance": 1000.0} and checked.findings == []


def test_an_empty_tag_is_no_tag_and_is_consumed() -> None:
    checked = run(checker(DISTANCE), {"distance": 1000.0, "distance_unit": None})
    assert checked.features == {"distance": 1000.0} and checked.findings == []


@pytest.mark.parametrize(
    ("tag", "detail"),
    [
        ("furlong", "distance_unit='furlong' is not a unit of distance (length: m, km, mi"),
        ("kg", "distance_unit='kg' is a mass unit; distance is a length in mi"),
        (3, "distance_unit=3 is not a unit of distance"),
    ],
)
def test_an_unknown_unit_is_refused(tag: Any, detail: str) -> None:
    checked = run(checker(DISTANCE), {"distance": 1000, "distance_unit": tag})
    assert checked.refused is not None
    assert checked.refused[0] == "unknown-unit" and checked.refused[1].startswith(detail)


def test_the_unit_is_read_before_the_missing_value() -> None:
    checked = run(checker(DISTANCE), {"distance_unit": "furlong"})
    assert checked.refused is not None and checked.refused[0] == "unknown-unit"
    checked = run(checker(DISTANCE), {"distance_unit": "km"})
    assert checked.refused is None and checked.missing == ("distance",)
    assert checked.features == {}


# --------------------------------------------------------------------------------------
# Missing values
# --------------------------------------------------------------------------------------


def test_a_missing_value_allowed_is_listed_and_left_as_it_came() -> None:
    check = checker({"x": {}, "y": {}})
    checked = run(check, {"x": None})
    assert checked.missing == ("x", "y")
    assert checked.features == {"x": None} and checked.findings == [] and checked.refused is None


def test_a_missing_value_refused() -> None:
    checked = run(checker({"x": {"missing": "dead-letter"}}), {"x": None})
    assert checked.refused == ("missing-value", "x is missing")
    assert checked.missing == ("x",)


def test_imputation_before_anything_is_learned_leaves_the_value_missing_with_a_finding() -> None:
    checked = run(checker({"x": {"missing": "impute"}}), {})
    assert checked.features == {"x_missing": 1.0}
    assert rules_of(checked) == [("completeness", "missing-imputed", "x")]
    assert "nothing learned yet" in checked.findings[0].detail


def test_imputation_by_the_mean_of_the_values_learned() -> None:
    check = checker({"x": {"missing": "impute"}, "n": {"type": "integer", "missing": "impute"}})
    state = check.new_state()
    for x, n in ((1.0, 1), (2.0, 2), (4.5, 2)):
        check.learn(check.check({"x": x, "n": n}, state).features, state)
    checked = check.check({"x": None}, state)
    assert checked.features == {"x": 2.5, "n": 2, "x_missing": 1.0, "n_missing": 1.0}
    assert type(checked.features["n"]) is int  # an integer stays an integer
    assert checked.findings[0].detail == "x is missing; filled with 2.5 (the mean of 3 values)"
    assert checked.missing == ("x", "n")


def test_the_indicator_says_whether_the_value_was_sent() -> None:
    check = checker({"x": {"missing": "impute"}, "y": {"missing": "impute", "indicator": False}})
    assert run(check, {"x": 1.0, "y": 2.0}).features == {"x": 1.0, "y": 2.0, "x_missing": 0.0}
    assert run(check, {}).features == {"x_missing": 1.0}


def test_imputation_by_the_most_frequent_value_ties_broken_by_the_smallest() -> None:
    check = checker(
        {
            "c": {"type": "category", "missing": "impute"},
            "b": {"type": "boolean", "missing": "impute", "indicator": False},
        }
    )
    state = check.new_state()
    for c, b in (("DL", True), ("UA", False), ("UA", True), ("DL", False)):
        check.learn(check.check({"c": c, "b": b}, state).features, state)
    checked = check.check({}, state)
    assert checked.features == {"c": "DL", "b": False, "c_missing": 1.0}
    check.learn({"c": "UA", "b": True, "c_missing": 0.0}, state)
    assert check.check({}, state).features == {"c": "UA", "b": True, "c_missing": 1.0}


def test_imputation_by_a_constant() -> None:
    check = checker(
        {"x": {"type": "category", "missing": "impute", "impute": "constant", "fill": "?"}}
    )
    checked = run(check, {"x": None})
    assert checked.features == {"x": "?", "x_missing": 1.0}
    assert checked.findings[0].detail == "x is missing; filled with '?' (the contract's fill)"


def test_a_time_fill_is_read_as_epoch_seconds() -> None:
    spec = {
        "type": "time",
        "missing": "impute",
        "impute": "constant",
        "fill": "1970-01-02T00:00:00Z",
    }
    assert run(checker({"t": spec}), {}).features["t"] == 86400.0


def test_imputed_values_are_not_learned_again() -> None:
    check = checker({"c": {"type": "category", "missing": "impute"}})
    state = check.new_state()
    check.learn(check.check({"c": "UA"}, state).features, state)
    for _ in range(3):
        check.learn(check.check({}, state).features, state)
    assert state.counts == {"c": {"UA": 1}}


def test_learn_counts_only_values_of_the_features_type() -> None:
    check = checker({"x": {"missing": "impute"}, "c": {"type": "category", "missing": "impute"}})
    state = check.new_state()
    check.learn({"x": "text", "c": 3}, state)
    check.learn({"x": math.nan, "c": True}, state)
    check.learn({"x": True}, state)
    assert state == check.new_state()


def test_counts_are_bounded() -> None:
    check = checker({"c": {"type": "category", "missing": "impute"}})
    state = check.new_state()
    for i in range(MAX_COUNTED_VALUES + 10):
        check.learn({"c": f"v{i:05d}"}, state)
    check.learn({"c": "v00003"}, state)
    assert len(state.counts["c"]) == MAX_COUNTED_VALUES
    assert "v01005" not in state.counts["c"]
    assert run(check, {}, state).features["c"] == "v00003"


def test_the_state_pickles_and_imputes_the_same_after_a_round_trip() -> None:
    check = ContractCheck(FLIGHTS)
    state = check.new_state()
    rows = [
        {"carrier": "UA", "origin": "EWR", "dest": "IAH", "distance": 1400.0, "month": 1},
        {"carrier": "DL", "origin": "JFK", "dest": "ATL", "distance": 760.0, "month": 2},
        {"carrier": "UA", "origin": "LGA", "dest": "IAH", "distance": 1416.0, "month": 2},
    ]
    for row in rows:
        check.learn(check.check(row, state).features, state)
    copied = pickle.loads(pickle.dumps(state))
    assert copied == state and copied is not state
    empty: dict[str, FeatureValue] = {}
    assert check.check(empty, copied) == check.check(empty, state)
    assert check.check(empty, copied).features["carrier"] == "UA"
    assert check.check(empty, copied).features["month"] == 2
    assert check.check(empty, copied).features["distance"] == pytest.approx(1192.0)


def test_check_does_not_change_the_state() -> None:
    check = ContractCheck(FLIGHTS)
    state = check.new_state()
    check.learn({"carrier": "UA", "distance": 100.0}, state)
    before = pickle.dumps(state)
    check.check({"carrier": "dl", "distance": None}, state)
    assert pickle.dumps(state) == before


# --------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "value", "clean"),
    [
        ({}, "1400", 1400.0),
        ({}, " 3.5 ", 3.5),
        ({}, "-2e3", -2000.0),
        ({"type": "integer"}, "1400", 1400),
        ({"type": "integer"}, "14.0", 14),
        ({"type": "boolean"}, "true", True),
        ({"type": "boolean"}, " False ", False),
        ({"type": "boolean"}, "1", True),
    ],
)
def test_numbers_sent_as_text_are_read_with_a_finding(
    spec: dict[str, Any], value: str, clean: Any
) -> None:
    checked = run(checker({"x": spec}), {"x": value})
    assert checked.features == {"x": clean} and type(checked.features["x"]) is type(clean)
    assert rules_of(checked) == [("consistency", "number-text", "x")]


@pytest.mark.parametrize(
    ("spec", "value", "clean"),
    [
        ({}, 3, 3),
        ({"type": "integer"}, 3.0, 3),
        ({"type": "boolean"}, 1, True),
        ({"type": "boolean"}, 0.0, False),
        ({"type": "category"}, 7, "7"),
    ],
)
def test_representations_read_without_a_finding(
    spec: dict[str, Any], value: Any, clean: Any
) -> None:
    checked = run(checker({"x": spec}), {"x": value})
    assert checked.features == {"x": clean} and type(checked.features["x"]) is type(clean)
    assert checked.findings == []


@pytest.mark.parametrize(
    ("spec", "value", "detail"),
    [
        ({}, "fourteen", "x='fourteen' is not a number"),
        ({}, "nan", "x='nan' is not a number"),
        ({}, "1e999", "x='1e999' is not a number"),
        ({}, True, "x=True is not a number"),
        ({"type": "integer"}, 3.5, "x=3.5 is not an integer"),
        ({"type": "integer"}, "3.5", "x='3.5' is not an integer"),
        ({"type": "boolean"}, "yes", "x='yes' is not a boolean (true/false, 1/0)"),
        ({"type": "boolean"}, 2, "x=2 is not a boolean"),
        ({"type": "time"}, 1357034400, "x=1357034400 is not a time: send ISO 8601 text"),
        ({"type": "time"}, "yesterday", "x='yesterday' is not an ISO 8601 time"),
        ({"type": "time"}, "2013-01-01T05:00:00", "x='2013-01-01T05:00:00' has no time zone"),
    ],
)
def test_a_wrong_type_is_refused(spec: dict[str, Any], value: Any, detail: str) -> None:
    checked = run(checker({"x": spec}), {"x": value})
    assert checked.refused is not None
    assert checked.refused[0] == "wrong-type" and checked.refused[1].startswith(detail)


def test_a_category_given_a_float_or_a_boolean_reads_it_as_text_with_a_finding() -> None:
    check = checker({"x": {"type": "category"}})
    checked = run(check, {"x": 1.5})
    assert checked.features == {"x": "1.5"}
    assert rules_of(checked) == [("consistency", "number-text", "x")]
    assert run(check, {"x": True}).features == {"x": "True"}


def test_times_are_epoch_seconds_in_utc() -> None:
    check = checker(
        {"t": {"type": "time"}, "local": {"type": "time", "timezone": "America/New_York"}}
    )
    checked = run(check, {"t": "2013-01-01T10:15:00Z", "local": "2013-01-01T05:15:00"})
    assert checked.features == {"t": 1357035300.0, "local": 1357035300.0}
    assert rules_of(checked) == [("consistency", "timezone", "local")]
    assert checked.findings[0].detail == (
        "local='2013-01-01T05:15:00' read as 2013-01-01T10:15:00+00:00"
    )
    checked = run(check, {"t": "2013-01-01T12:15:00+02:00", "local": "2013-01-01T10:15:00+00:00"})
    assert checked.features == {"t": 1357035300.0, "local": 1357035300.0}
    assert rules_of(checked) == [("consistency", "timezone", "t")]


# --------------------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------------------

CARRIER = {
    "carrier": {
        "type": "category",
        "categories": ["UA", "DL"],
        "case": "upper",
        "aliases": {"United Airlines": "UA", "Delta": "DL"},
    }
}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ua", "UA"),
        (" UA ", "UA"),
        ("united airlines", "UA"),
        ("  UNITED\tairlines ", "UA"),
        ("delta", "DL"),
    ],
)
def test_spellings_are_made_canonical(raw: str, clean: str) -> None:
    checked = run(checker(CARRIER), {"carrier": raw})
    assert checked.features == {"carrier": clean}
    assert rules_of(checked) == [("consistency", "spelling", "carrier")]
    assert checked.findings[0].detail == f"carrier {raw!r} read as {clean!r}"


def test_a_canonical_spelling_has_no_finding() -> None:
    assert run(checker(CARRIER), {"carrier": "UA"}).findings == []


def test_aliases_are_case_sensitive_when_case_is_kept() -> None:
    check = checker({"c": {"type": "category", "aliases": {"Delta": "DL"}}})
    assert run(check, {"c": " Delta "}).features == {"c": "DL"}
    assert run(check, {"c": "delta"}).features == {"c": "delta"}


def test_an_unseen_category_is_flagged_or_refused() -> None:
    checked = run(checker(CARRIER), {"carrier": "zz"})
    assert checked.features == {"carrier": "ZZ"} and checked.refused is None
    assert rules_of(checked) == [
        ("consistency", "spelling", "carrier"),
        ("completeness", "unseen-category", "carrier"),
    ]
    assert checked.findings[1].detail == "carrier='ZZ' is not one of the 2 declared categories"
    strict = {"carrier": {**CARRIER["carrier"], "unseen": "dead-letter"}}
    checked = run(checker(strict), {"carrier": "zz"})
    assert checked.refused == (
        "unseen-category",
        "carrier='ZZ' is not one of the 2 declared categories",
    )
    assert rules_of(checked) == [
        ("consistency", "spelling", "carrier"),
        ("completeness", "unseen-category", "carrier"),
    ]


def test_an_open_category_is_normalised_every_time() -> None:
    check = checker({"route": {"type": "category", "case": "upper"}})
    for _ in range(3):  # the second time from the cache of canonical values
        assert run(check, {"route": "EWR-IAH"}).findings == []
        checked = run(check, {"route": "ewr-iah"})
        assert checked.features == {"route": "EWR-IAH"} and len(checked.findings) == 1


# --------------------------------------------------------------------------------------
# Units without a tag, and ranges
# --------------------------------------------------------------------------------------

PRESSURE = {"pressure": {"unit": "hPa", "detect_units": ["inHg"], "range": [850, 1100]}}


def test_a_unit_is_detected_when_exactly_one_brings_the_value_into_the_range() -> None:
    checked = run(checker(PRESSURE), {"pressure": 29.92})
    assert checked.features["pressure"] == pytest.approx(1013.2075888)
    assert rules_of(checked) == [("consistency", "unit-detected", "pressure")]
    assert checked.findings[0].detail.startswith(
        "pressure=29.92 is outside [850, 1100] hPa; read as inHg: 1013.2"
    )


def test_no_unit_is_detected_when_none_or_two_fit() -> None:
    wide = {"p": {"unit": "hPa", "detect_units": ["inHg", "kPa"], "range": [500, 5000]}}
    # 40: as inHg 1,354.6 hPa (in), as kPa 400 hPa (out): inHg
    checked = run(checker(wide), {"p": 40})
    assert checked.features["p"] == pytest.approx(1354.5556)
    # 100: as inHg 3,386 hPa, as kPa 1,000 hPa: both fit, so neither is chosen
    assert run(checker(wide), {"p": 100}).refused == (
        "out-of-range",
        "feature p=100 is outside [500, 5000]",
    )
    # 9000: neither fits
    assert run(checker(wide), {"p": 9000}).refused == (
        "out-of-range",
        "feature p=9000 is outside [500, 5000]",
    )


def test_a_tagged_value_is_not_detected_again() -> None:
    tagged = {"pressure": {**PRESSURE["pressure"], "unit_field": "pressure_unit"}}
    checked = run(checker(tagged), {"pressure": 29.92, "pressure_unit": "hPa"})
    assert checked.refused == ("out-of-range", "feature pressure=29.92 is outside [850, 1100]")


def test_out_of_range_is_refused_or_clipped() -> None:
    checked = run(checker({"distance": {"range": [10, 6000]}}), {"distance": 9000})
    assert checked.refused == ("out-of-range", "feature distance=9000 is outside [10, 6000]")
    clip = {
        "distance": {"range": [10, 6000], "out_of_range": "clip"},
        "n": {"type": "integer", "range": [0, 5], "out_of_range": "clip"},
    }
    checked = run(checker(clip), {"distance": 9000.5, "n": -3})
    assert checked.features == {"distance": 6000.0, "n": 0} and type(checked.features["n"]) is int
    assert rules_of(checked) == [
        ("accuracy", "out-of-range", "distance"),
        ("accuracy", "out-of-range", "n"),
    ]
    assert "feature distance=9000.5 is outside [10, 6000]: clipped to 6000" in {
        f.detail for f in checked.findings
    }


def test_nan_is_refused_even_when_clipping() -> None:
    check = checker({"x": {"range": [0, 1], "out_of_range": "clip"}})
    assert run(check, {"x": math.nan}).refused == (
        "out-of-range",
        "feature x=nan is outside [0, 1]",
    )


def test_a_converted_value_is_held_to_the_range() -> None:
    checked = run(checker(DISTANCE), {"distance": 5, "distance_unit": "km"})
    assert checked.refused == (
        "out-of-range",
        "feature distance=3.1068559611866697 is outside [10, 6000]",
    )
    assert rules_of(checked) == [
        ("consistency", "unit-converted", "distance"),
        ("accuracy", "out-of-range", "distance"),
    ]


def test_integers_converted_by_unit_stay_integers() -> None:
    check = checker({"block": {"type": "integer", "unit": "min", "unit_field": "block_unit"}})
    checked = run(check, {"block": 2, "block_unit": "hours"})
    assert checked.features == {"block": 120} and type(checked.features["block"]) is int


# --------------------------------------------------------------------------------------
# Unknown features
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["allow", "drop", "dead-letter"])
def test_unknown_features(policy: str) -> None:
    features = {"x": {"missing": "impute"}, "d": DISTANCE["distance"]}
    check = checker(features, stream={"unknown_features": policy})
    sent = {"x": 1.0, "d": 20.0, "distance_unit": "mi", "x_missing": 0.0, "colour": "red"}
    checked = run(check, sent)
    if policy == "allow":
        assert checked.features == {"x": 1.0, "d": 20.0, "x_missing": 0.0, "colour": "red"}
        assert checked.findings == [] and checked.refused is None
    elif policy == "drop":
        assert checked.features == {"x": 1.0, "d": 20.0, "x_missing": 0.0}
        assert rules_of(checked) == [("consistency", "unknown-feature", "colour")]
    else:
        assert checked.refused == ("unknown-feature", "not in the contract: colour")


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------


def test_a_false_rule_refuses_with_the_values() -> None:
    check = ContractCheck(FLIGHTS)
    checked = run(check, {"distance": 3000.0, "scheduled_block_minutes": 60})
    assert checked.refused == (
        "impossible-combination",
        "rule slower-than-900-mph: distance / scheduled_block_minutes < 15 is false "
        "(distance=3000, scheduled_block_minutes=60)",
    )


def test_a_rule_on_a_missing_feature_or_dividing_by_zero_is_skipped() -> None:
    check = checker({"a": {}, "b": {}}, rules=[{"name": "r", "check": "a / b < 1"}])
    assert run(check, {"a": 5.0}).refused is None
    assert run(check, {"a": 5.0, "b": 0.0}).refused is None
    assert run(check, {"a": 5.0, "b": 2.0}).refused is not None
    assert run(check, {"a": 1.0, "b": 2.0}).refused is None


def test_a_rule_does_not_judge_a_value_imputation_filled_in() -> None:
    """A short flight whose distance is missing gets the mean distance, which the speed
    rule would find impossible: the invented value is not evidence (found by the demo)."""
    check = ContractCheck(FLIGHTS)
    state = check.new_state()
    check.learn({"distance": 2000.0, "scheduled_block_minutes": 300}, state)
    checked = check.check({"scheduled_block_minutes": 60}, state)
    assert checked.features["distance"] == 2000.0
    assert checked.refused is None
    assert ("completeness", "missing-imputed", "distance") in rules_of(checked)
    sent = check.check({"distance": 2000.0, "scheduled_block_minutes": 60}, state)
    assert sent.refused is not None and sent.refused[0] == "impossible-combination"


def test_rules_read_the_cleaned_values() -> None:
    features = {"a": {"unit": "mi", "unit_field": "a_unit"}, "b": {}}
    check = checker(features, rules=[{"name": "r", "check": "a <= b"}])
    assert run(check, {"a": 1.0, "a_unit": "km", "b": 0.7}).refused is None  # 0.62 mi


# --------------------------------------------------------------------------------------
# A refused event, and the input
# --------------------------------------------------------------------------------------


def test_a_refused_event_returns_its_findings_so_far_the_refusal_last() -> None:
    features = {"c": CARRIER["carrier"], "d": {"range": [0, 1]}}
    checked = run(checker(features), {"c": "ua", "d": 5.0})
    assert checked.refused == ("out-of-range", "feature d=5 is outside [0, 1]")
    # numbers are checked before categories: the refusal comes first, and it is a finding
    assert checked.findings == [
        Finding("accuracy", "out-of-range", "d", "feature d=5 is outside [0, 1]")
    ]
    rules = [{"name": "r", "check": "d < 0.5"}]
    checked = run(checker(features, rules=rules), {"c": "ua", "d": 0.9})
    assert checked.refused == ("impossible-combination", "rule r: d < 0.5 is false (d=0.9)")
    assert rules_of(checked) == [
        ("consistency", "spelling", "c"),
        ("accuracy", "impossible-combination", None),
    ]


@pytest.mark.parametrize(
    ("features", "sent", "finding"),
    [
        (DISTANCE, {"distance_unit": "kg"}, ("consistency", "unknown-unit", "distance")),
        ({"x": {"missing": "dead-letter"}}, {}, ("completeness", "missing-value", "x")),
        ({"x": {}}, {"x": "?"}, ("accuracy", "wrong-type", "x")),
        ({"x": {}}, {"x": 1.0, "y": 2, "z": 3}, ("consistency", "unknown-feature", None)),
        ({"x": {}}, {"x": 1.0, "y": 2}, ("consistency", "unknown-feature", "y")),
    ],
)
def test_every_refusal_is_a_finding_of_its_dimension(
    features: dict[str, Any], sent: dict[str, Any], finding: tuple[str, str, str | None]
) -> None:
    checked = run(checker(features, stream={"unknown_features": "dead-letter"}), sent)
    assert checked.refused is not None and checked.refused[0] == finding[1]
    assert rules_of(checked)[-1] == finding
    assert checked.findings[-1].detail == checked.refused[1]


def test_findings_are_named_tuples_of_the_shared_vocabulary() -> None:
    finding = run(checker(CARRIER), {"carrier": "ua"}).findings[0]
    assert isinstance(finding, Finding)
    assert finding._asdict() == {
        "dimension": "consistency",
        "rule": "spelling",
        "feature": "carrier",
        "detail": "carrier 'ua' read as 'UA'",
    }


#: A contract with every type and policy, for the properties.
EVERYTHING = contract(
    {
        "n": {"range": [0, 100], "missing": "impute"},
        "clip": {"range": [0, 1], "out_of_range": "clip"},
        "i": {"type": "integer", "range": [-5, 5], "missing": "impute", "impute": "mode"},
        "d": {"unit": "mi", "unit_field": "d_unit", "range": [1, 1000], "missing": "impute"},
        "p": PRESSURE["pressure"],
        "b": {"type": "boolean", "missing": "impute"},
        "c": {**CARRIER["carrier"], "missing": "impute"},
        "strict": {"type": "category", "categories": ["a"], "unseen": "dead-letter"},
        "open": {"type": "category", "case": "lower"},
        "t": {"type": "time", "timezone": "Europe/Paris"},
        "need": {"missing": "dead-letter"},
    },
    rules=[{"name": "r", "check": "n / clip >= 0"}, {"name": "s", "check": "d - i > -10"}],
    stream={"unknown_features": "drop"},
)
NAMES = [*EVERYTHING.features, "d_unit", "n_missing", "other"]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["ua", " Delta ", "km", "miles", "29.92", "2013-01-01T05:00:00", "1e999", "true"]
    ),
)
FEATURES = st.dictionaries(
    st.one_of(st.sampled_from(NAMES), st.text(max_size=5)), VALUES, max_size=16
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FEATURES, st.lists(FEATURES, max_size=4))
def test_check_never_raises_nor_mutates_its_input(
    features: dict[str, Any], learned: list[dict[str, Any]]
) -> None:
    for contract_ in (EVERYTHING, FLIGHTS):
        check = ContractCheck(contract_)
        state = check.new_state()
        for row in learned:
            checked = check.check(row, state)
            if checked.refused is None:
                check.learn(checked.features, state)
        sent = copy.deepcopy(features)  # the same float objects: nan equals itself here
        before = pickle.dumps(state)
        checked = check.check(features, state)
        assert features == sent
        assert pickle.dumps(state) == before
        assert isinstance(checked, Checked) and checked.features is not features
        assert set(checked.missing) <= set(contract_.features)
        for finding in checked.findings:
            assert finding.dimension in ("accuracy", "completeness", "consistency")


def _clean_value(name: str, spec: FeatureSpec) -> st.SearchStrategy[Any]:
    low, high = spec.range or (-1e9, 1e9)
    if spec.type == "integer":
        value: st.SearchStrategy[Any] = st.integers(int(low), int(high))
    elif spec.type == "number":
        value = st.floats(low, high) | st.integers(math.ceil(low), math.floor(high))
    elif spec.type == "boolean":
        value = st.booleans()
    elif spec.type == "category":
        value = st.sampled_from(spec.categories or ["x-1", "b c"])
    else:  # a time is cleaned into epoch seconds: a clean event sends none
        return st.none()
    return value | st.none() if spec.missing == "allow" else value


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {name: _clean_value(name, spec) for name, spec in EVERYTHING.features.items()}
    )
)
def test_the_cleaned_features_of_a_clean_event_equal_the_input(features: dict[str, Any]) -> None:
    check = ContractCheck(EVERYTHING)
    checked = check.check(features, check.new_state())
    indicators = {
        f"{n}_missing": 0.0 for n, s in EVERYTHING.features.items() if s.missing == "impute"
    }
    assert checked.refused is None and checked.findings == []
    assert checked.features == {**features, **indicators}
