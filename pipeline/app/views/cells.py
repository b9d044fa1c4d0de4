"""How a value reads in a table cell."""

from __future__ import annotations

from typing import Any

__all__ = ["cell", "window_name"]


def cell(value: Any) -> str:
    """``value`` as a table cell: ``-`` for none, thousands separated, floats to 4 places
    (to none from 1,000 up).

    >>> cell(None), cell(1234567), cell(0.123456), cell(12345.6), cell("EWR")
    ('-', '1,234,567', '0.1235', '12,346', 'EWR')
    """
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def window_name(seconds: float) -> str:
    """A window's length in the largest unit that divides it.

    >>> window_name(86400), window_name(7200), window_name(90), window_name(2.5)
    ('1 d', '2 h', '90 s', '2.5 s')
    """
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size:g} {unit}"
    return f"{seconds:g} s"
