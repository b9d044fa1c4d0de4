"""Rule expressions: parsed and compiled comparisons."""

from __future__ import annotations

from typing import Any

import pytest

from driftline.core.contract.expressions import compile_comparison, parse_comparison


@pytest.mark.parametrize(
    ("text", "values", "holds"),
    [
        ("a < 1", {"a": 0.5}, True),
        ("a <= 1", {"a": 1}, True),
        ("a > -1", {"a": -0.5}, True),
        ("a >= b", {"a": 1, "b": 2}, False),
        ("a == 2", {"a": 2.0}, True),
        ("a != b", {"a": 2, "b": 2}, False),
        ("a + b > 3", {"a": 2, "b": 2}, True),
        ("a - 1 == b", {"a": 3, "b": 2}, True),
        ("a-1 == b", {"a": 3, "b": 2}, True),
        ("a * 2 < b * 3", {"a": 3, "b": 2}, False),
        ("2 * a < 7", {"a": 3}, True),
        ("1.5e1 > a", {"a": 3}, True),
        ("a / b < 1", {"a": 1, "b": 0}, None),
        ("a < b", {"a": 1}, None),
        ("flag == 1", {"flag": True}, True),
    ],
)
def test_rule_expressions(text: str, values: dict[str, Any], holds: bool | None) -> None:
    assert compile_comparison(parse_comparison(text))(values) is holds
