"""JSON values of a user's topic: any JSON value decodes; no value, bytes that are not UTF-8
and text that is not JSON are refused as ``source-undecodable``, never raised otherwise."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.errors import MappingRefused
from driftline.core.quality.reasons import Rule
from driftline.core.sources.json_values import decode_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(json_values)
def test_any_json_value_round_trips(value: Any) -> None:
    assert decode_json(json.dumps(value).encode()) == value


def test_a_byte_order_mark_and_non_finite_numbers_are_read() -> None:
    assert decode_json('\ufeff{"a": 1}'.encode()) == {"a": 1}
    assert math.isnan(decode_json(b'{"a": NaN}')["a"])


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (None, "no value (a tombstone)"),
        (b"", "no JSON value in 0 byte(s)"),
        (b"  \n", "no JSON value in 3 byte(s)"),
        (b'{"a": "\xff"}', "not UTF-8 text: byte 7 is b'\\xff'"),
        (b'{"a": 1', "not JSON: Expecting ',' delimiter at line 1, column 8"),
        (b'{"a": 1} x', "not JSON: Extra data at line 1, column 10"),
        (b"[" * 100_000, "nested too deeply|not JSON"),
    ],
)
def test_what_is_not_json_is_refused(raw: bytes | None, detail: str) -> None:
    pattern = detail if "|" in detail else re.escape(detail)
    with pytest.raises(MappingRefused, match=pattern) as caught:
        decode_json(raw)
    assert caught.value.reason == Rule.SOURCE_UNDECODABLE == "source-undecodable"


@given(st.binary(max_size=64))
def test_any_bytes_decode_or_are_refused(raw: bytes) -> None:
    try:
        decode_json(raw)
    except MappingRefused as exc:
        assert exc.reason == "source-undecodable"
