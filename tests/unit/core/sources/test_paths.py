"""Field paths: dots into nested records, a missing field told apart from a null, and why a
field was not found."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.sources.paths import MISSING, check_path, get, get_at, split, why_missing

RECORD = {"id": 7, "customer": {"id": "c-1", "age": None, "tags": [1, 2]}, "flag": False}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("id", 7),
        ("customer.id", "c-1"),
        ("customer.age", None),
        ("flag", False),
        ("customer.tags", [1, 2]),
        ("customer.income", MISSING),
        ("income", MISSING),
        ("id.x", MISSING),
        ("customer.tags.0", MISSING),
        ("customer.age.x", MISSING),
    ],
)
def test_get_follows_dots(path: str, expected: Any) -> None:
    assert get(RECORD, path) == expected
    if expected is MISSING:
        assert get(RECORD, path) is MISSING


def test_missing_is_not_none_and_is_falsy() -> None:
    assert MISSING is not None and MISSING != None  # noqa: E711
    assert not MISSING
    assert repr(MISSING) == "MISSING"


@pytest.mark.parametrize("path", ["", " ", ".", "a.", ".a", "a..b"])
def test_a_path_has_names_between_its_dots(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        check_path(path)


def test_why_missing_names_the_part() -> None:
    assert why_missing(RECORD, split("customer.income")) == "no field 'customer.income'"
    assert why_missing(RECORD, split("income")) == "no field 'income'"
    assert why_missing(RECORD, split("customer.age.x")) == "'customer.age' is null"
    assert why_missing(RECORD, split("id.x")) == "'id' is not a record (a int)"


names = st.text(st.characters(exclude_characters="."), min_size=1, max_size=5).filter(str.strip)


@given(st.lists(names, min_size=1, max_size=4), st.integers() | st.none() | st.text())
def test_a_value_put_at_a_path_is_found_there(parts: list[str], value: Any) -> None:
    record: dict[str, Any] = {}
    here = record
    for part in parts[:-1]:
        here = here.setdefault(part, {})
    here[parts[-1]] = value
    path = ".".join(parts)
    assert get(record, path) == value
    assert get_at(record, tuple(parts)) == value
    assert get(record, path + ".more") is MISSING
