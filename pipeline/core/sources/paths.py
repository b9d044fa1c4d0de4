"""Field paths: where a value sits in a user's record, dots going into nested records.

``"customer.id"`` is the field ``id`` of the record in the field ``customer``. A field that
is not there is :data:`MISSING`, which is not ``None`` (a field that is there and null):

>>> record = {"loan_id": 7, "customer": {"id": "c-1", "age": None}}
>>> get(record, "customer.id")
'c-1'
>>> get(record, "customer.age") is None
True
>>> get(record, "customer.income")
MISSING
>>> get(record, "loan_id.x") is MISSING
True

A dot always goes into a nested record: a top-level field whose name holds a dot cannot be
named. Parse a path once with :func:`split` and read it with :func:`get_at` on the hot path.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Final, Literal

__all__ = ["MISSING", "Missing", "check_path", "get", "get_at", "split", "why_missing"]


class Missing(Enum):
    """The type of :data:`MISSING` (an enum, so it is one object even across pickles)."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> Literal[False]:
        return False


#: A field a record does not have (distinct from ``None``, a field that is null).
MISSING: Final = Missing.MISSING


def check_path(path: str) -> str:
    """``path`` if it names a field: non-empty parts between the dots; else ``ValueError``.

    >>> check_path("customer.id")
    'customer.id'
    >>> check_path("customer..id")
    Traceback (most recent call last):
    ...
    ValueError: field path 'customer..id' has an empty part (write names between dots: 'a.b')
    """
    if not path or not path.strip():
        raise ValueError("a field path cannot be empty or blank")
    if any(not part for part in path.split(".")):
        raise ValueError(f"field path {path!r} has an empty part (write names between dots: 'a.b')")
    return path


def split(path: str) -> tuple[str, ...]:
    """The parts of a checked ``path``, for :func:`get_at`.

    >>> split("customer.id")
    ('customer', 'id')
    """
    return tuple(check_path(path).split("."))


def get_at(record: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    """The value at ``parts`` (from :func:`split`) in ``record``, or :data:`MISSING` when a
    field on the way is absent or is not a record (a mapping).

    >>> get_at({"a": {"b": 0}}, ("a", "b")), get_at({"a": [1]}, ("a", "b"))
    (0, MISSING)
    """
    value: Any = record
    for part in parts:
        # a dict is checked first: it is what decoders give, and the ABC check is slow
        if type(value) is not dict and not isinstance(value, Mapping):
            return MISSING
        value = value.get(part, MISSING)
        if value is MISSING:
            return MISSING
    return value


def get(record: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` in ``record``, or :data:`MISSING` (see the module's examples)."""
    return get_at(record, split(path))


def why_missing(record: Mapping[str, Any], parts: tuple[str, ...]) -> str:
    """Why :func:`get_at` found nothing at ``parts``, for a dead letter's detail.

    >>> why_missing({"customer": None}, ("customer", "id"))
    "'customer' is null"
    >>> why_missing({"customer": {"name": "x"}}, ("customer", "id"))
    "no field 'customer.id'"
    >>> why_missing({"customer": [1, 2]}, ("customer", "id"))
    "'customer' is not a record (a list)"
    """
    value: Any = record
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth])
        if value is None:
            return f"{here!r} is null"
        if not isinstance(value, Mapping):
            return f"{here!r} is not a record (a {type(value).__name__})"
        if part not in value:
            return f"no field {'.'.join(parts[: depth + 1])!r}"
        value = value[part]
    return "found"
