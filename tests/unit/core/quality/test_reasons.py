"""Rule and dimension names as enums: each rule carries its dimension, the maps derived
from them equal the literal maps they replace, and the names stay the same strings
wherever they are written (JSON, pickles, text)."""

from __future__ import annotations

import json
import pickle

import pytest

from driftline.core.contract.steps import REFUSAL_DIMENSIONS, Finding, Refusal
from driftline.core.quality import figures
from driftline.core.quality.reasons import DIMENSION_OF, DIMENSIONS, Dimension, Rule

#: The literal map ``core/quality/figures.py`` held before the names were enums.
OLD_DIMENSION_OF = {
    "duplicate": "accuracy",
    "near-duplicate": "accuracy",
    "out-of-range": "accuracy",
    "value-too-large": "accuracy",
    "impossible-combination": "accuracy",
    "conflicting-outcome": "accuracy",
    "wrong-type": "accuracy",
    "label-type": "accuracy",
    "key-mismatch": "accuracy",
    "missing-imputed": "completeness",
    "missing-value": "completeness",
    "unseen-category": "completeness",
    "unknown-observation": "completeness",
    "expired-observation": "completeness",
    "unit-converted": "consistency",
    "unit-detected": "consistency",
    "unknown-unit": "consistency",
    "spelling": "consistency",
    "number-text": "consistency",
    "timezone": "consistency",
    "unknown-feature": "consistency",
    "schema-violation": "consistency",
    "avro-decode": "consistency",
    "unknown-schema": "consistency",
    "bad-magic-byte": "consistency",
    "trailing-bytes": "consistency",
    "empty-value": "consistency",
    "record-too-large": "consistency",
    "too-many-features": "consistency",
    "string-too-long": "consistency",
    "late": "timeliness",
    "late-observation": "timeliness",
    "event-time-in-future": "timeliness",
    "event-time-too-old": "timeliness",
    "ingest-time-out-of-range": "timeliness",
}

#: The rules added since, with their dimensions: a user's own topic (``--source``).
NEW_DIMENSION_OF = {
    "source-label-unmapped": "accuracy",
    "source-value-invalid": "accuracy",
    "source-field-missing": "completeness",
    "source-undecodable": "consistency",
    "source-not-a-record": "consistency",
    "source-kind-unknown": "consistency",
    "source-time-invalid": "consistency",
    "source-feature-nested": "consistency",
}
#: Every rule and its dimension.
ALL_DIMENSION_OF = {**OLD_DIMENSION_OF, **NEW_DIMENSION_OF}

#: The literal map ``core/contract/steps.py`` held.
OLD_REFUSAL_DIMENSIONS = {
    "out-of-range": "accuracy",
    "impossible-combination": "accuracy",
    "wrong-type": "accuracy",
    "missing-value": "completeness",
    "unseen-category": "completeness",
    "unknown-unit": "consistency",
    "unknown-feature": "consistency",
}


def plain(mapping: object) -> object:
    """``mapping`` with every key and value as a plain ``str`` (tuples as lists)."""
    return json.loads(json.dumps(mapping))


def test_every_rule_has_a_dimension() -> None:
    assert len(Rule) == len(ALL_DIMENSION_OF)
    for rule in Rule:
        assert isinstance(rule.dimension, Dimension), rule
    assert set(DIMENSION_OF) == set(Rule)
    assert {rule.dimension for rule in Rule} == set(Dimension)


def test_the_dimensions_keep_their_names_and_order() -> None:
    assert DIMENSIONS == ("accuracy", "completeness", "consistency", "timeliness")
    assert figures.DIMENSIONS is DIMENSIONS
    assert [type(d) for d in plain(DIMENSIONS)] == [str] * 4  # type: ignore[union-attr]


def test_the_derived_maps_equal_the_literal_ones() -> None:
    assert DIMENSION_OF == ALL_DIMENSION_OF
    assert figures.DIMENSION_OF == ALL_DIMENSION_OF
    assert REFUSAL_DIMENSIONS == OLD_REFUSAL_DIMENSIONS
    assert plain(DIMENSION_OF) == ALL_DIMENSION_OF
    assert plain(REFUSAL_DIMENSIONS) == OLD_REFUSAL_DIMENSIONS


def test_the_string_values_are_unchanged() -> None:
    assert {rule.value for rule in Rule} == set(ALL_DIMENSION_OF)
    for value, dimension in ALL_DIMENSION_OF.items():
        rule = Rule(value)
        assert rule == value and hash(rule) == hash(value)
        assert str(rule) == f"{rule}" == format(rule) == value
        assert rule.encode() == value.encode()
        assert rule.dimension == dimension and str(rule.dimension) == dimension


@pytest.mark.parametrize("rule", list(Rule))
def test_a_rule_is_its_string_in_json_and_in_a_pickle(rule: Rule) -> None:
    assert json.dumps({rule: [rule, rule.dimension]}) == json.dumps(
        {rule.value: [rule.value, rule.dimension.value]}
    )
    assert json.dumps([rule], indent=1) == json.dumps([rule.value], indent=1)
    assert pickle.loads(pickle.dumps(rule)) is rule
    assert pickle.loads(pickle.dumps(rule.dimension)) is rule.dimension


def test_a_plain_string_finds_the_members_entries() -> None:
    counts = {Rule.DUPLICATE: 1}
    assert counts["duplicate"] == 1
    assert DIMENSION_OF.get("late") == "timeliness"
    assert DIMENSION_OF.get("model-error") is None


def test_a_finding_and_a_refusal_carry_the_rules_dimension() -> None:
    finding = Finding.of(Rule.SPELLING, "carrier", "'ua' read as 'UA'")
    assert finding == ("consistency", "spelling", "carrier", "'ua' read as 'UA'")
    refusal = Refusal(Rule.MISSING_VALUE, "distance is missing", "distance")
    assert refusal.finding == ("completeness", "missing-value", "distance", "distance is missing")


def test_the_quality_figures_are_keyed_by_plain_names() -> None:
    metrics = figures.QualityMetrics()
    late, spelling = Rule.LATE, Rule.SPELLING
    metrics.note([(late.dimension, late, None), (spelling.dimension, spelling, "carrier")])
    snapshot = metrics.snapshot()
    merged = figures.merge_quality([snapshot], records=4)
    names = [*snapshot["events"], *snapshot["rules"], *merged["dimensions"]]
    names += [rule for d in merged["dimensions"].values() for rule in d["rules"]]
    assert {type(name) for name in names} == {str}
    assert str(merged["dimensions"]).startswith("{'accuracy': {'events': 0,")


def test_every_dimension_of_a_rule_is_one_of_the_four() -> None:
    assert set(DIMENSION_OF.values()) == set(DIMENSIONS)
