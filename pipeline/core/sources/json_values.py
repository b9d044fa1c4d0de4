"""JSON record values of a user's topic: bytes to a Python value, or a dead letter's reason.

>>> decode_json(b'{"loan_id": 7, "amount": 1200.5}')
{'loan_id': 7, 'amount': 1200.5}
>>> decode_json(b'{"loan_id": 7')
Traceback (most recent call last):
...
driftline.core.errors.MappingRefused: source-undecodable: not JSON: Expecting ',' delimiter \
at line 1, column 14
>>> decode_json(None)
Traceback (most recent call last):
...
driftline.core.errors.MappingRefused: source-undecodable: no value (a tombstone)

Any JSON value decodes (the mapper refuses what is not an object, with its own reason).
``NaN`` and ``Infinity``, which Python's :mod:`json` reads, come through as floats: the
mapper refuses them where they are used, naming the field.
"""

from __future__ import annotations

import json
from typing import Any

from driftline.core.errors import MappingRefused
from driftline.core.quality.reasons import Rule

__all__ = ["decode_json"]

_decode = json.JSONDecoder().decode


def decode_json(raw: bytes | None) -> Any:
    """The value the UTF-8 JSON text ``raw`` holds; :class:`MappingRefused`
    (``source-undecodable``) for no value, bytes that are not UTF-8, or text not JSON."""
    if raw is None:
        raise MappingRefused(Rule.SOURCE_UNDECODABLE, "no value (a tombstone)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        detail = f"not UTF-8 text: byte {exc.start} is {raw[exc.start : exc.start + 1]!r}"
        raise MappingRefused(Rule.SOURCE_UNDECODABLE, detail) from None
    if not text.strip():
        raise MappingRefused(Rule.SOURCE_UNDECODABLE, f"no JSON value in {len(raw)} byte(s)")
    try:
        return _decode(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        detail = f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        raise MappingRefused(Rule.SOURCE_UNDECODABLE, detail) from None
    except RecursionError:
        raise MappingRefused(Rule.SOURCE_UNDECODABLE, "JSON nested too deeply") from None
