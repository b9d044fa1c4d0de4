"""Values as contracts write them: normal text, alias keys, shown values, typed fills.

Shared by the contract's declaration (:mod:`~driftline.core.contract.spec`) and its steps
(:mod:`~driftline.core.contract.steps`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["EPOCH", "alias_key", "normal_text", "show", "typed_fill"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def normal_text(text: str, case: str) -> str:
    """Text as a category is written: no edge spaces, inner ones single, ``case`` applied.

    >>> normal_text("  united   airlines ", "upper")
    'UNITED AIRLINES'
    """
    text = " ".join(text.split())
    return text.upper() if case == "upper" else text.lower() if case == "lower" else text


def alias_key(text: str, case: str) -> str:
    """What an alias is compared on: normal text, case ignored unless ``case="keep"``."""
    text = " ".join(text.split())
    return text if case == "keep" else text.casefold()


def show(value: Any) -> str:
    """A value in a detail: integral floats without ``.0``, text quoted.

    >>> show(9000.0), show(0.5), show("UA")
    ('9000', '0.5', "'UA'")
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def typed_fill(kind: str, value: Any, zone: str | None) -> Any:
    """``value`` as a clean value of type ``kind`` (a time as epoch seconds), or ``None``.

    >>> typed_fill("integer", 3, None), typed_fill("integer", 3.5, None)
    (3, None)
    >>> typed_fill("time", "2013-01-01T05:00:00", "America/New_York")
    1357034400.0
    """
    if kind == "number":
        return value if type(value) in (int, float) else None
    if kind == "integer":
        return value if type(value) is int else None
    if kind == "boolean":
        return value if type(value) is bool else None
    if kind == "category":
        return value if type(value) is str else None
    if type(value) is not str:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        if zone is None:
            return None
        when = when.replace(tzinfo=ZoneInfo(zone))
    return (when - EPOCH).total_seconds()
