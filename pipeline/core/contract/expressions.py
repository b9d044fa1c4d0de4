"""The comparisons a data contract's rules are written in, parsed once, never ``eval``-ed.

The grammar is small on purpose: a rule compares two terms, and a term is a feature, a
number, or one arithmetic step between two of those::

    comparison := term ("<" | "<=" | ">" | ">=" | "==" | "!=") term
    term       := operand [("+" | "-" | "*" | "/") operand]
    operand    := feature name | number      (a number may carry a sign: -60, +1.5e3)

>>> rule = parse_comparison("distance / scheduled_block_minutes < 15")
>>> rule.names
('distance', 'scheduled_block_minutes')
>>> holds = compile_comparison(rule)
>>> holds({"distance": 1400.0, "scheduled_block_minutes": 205})
True
>>> holds({"distance": 1400.0, "scheduled_block_minutes": 60})
False
>>> holds({"distance": 1400.0}) is None  # a missing feature: the rule does not apply
True
>>> parse_comparison("distance <")
Traceback (most recent call last):
...
ValueError: 'distance <' does not parse: expected a feature or a number at the end
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = ["COMPARISONS", "Comparison", "Term", "compile_comparison", "parse_comparison"]

#: The comparison operators and what they compute.
COMPARISONS: Mapping[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_ARITHMETIC: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}

_TOKEN = re.compile(
    r"\s*(?:(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<compare><=|>=|==|!=|<|>)"
    r"|(?P<arithmetic>[-+*/]))"
)

#: An operand: a feature name (str) or a number (float).
Operand = str | float


class Term(NamedTuple):
    """``left`` alone, or ``left <operator> right``."""

    left: Operand
    operator: str | None = None
    right: Operand | None = None


class Comparison(NamedTuple):
    left: Term
    operator: str
    right: Term

    @property
    def names(self) -> tuple[str, ...]:
        """The features the comparison reads, in order of appearance, each once."""
        found: list[str] = []
        for term in (self.left, self.right):
            for operand in (term.left, term.right):
                if isinstance(operand, str) and operand not in found:
                    found.append(operand)
        return tuple(found)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) of each token; a number right after an operand that could
    end a term is split into its sign and the number (``a -1`` is ``a - 1``)."""
    tokens: list[tuple[str, str, int]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            where = len(text) - len(text[position:].lstrip())
            raise ValueError(f"{text!r} does not parse: unexpected {text[where]!r} at {where}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        start = match.start(kind)
        after_operand = bool(tokens) and tokens[-1][0] in ("number", "name")
        if kind == "number" and value[0] in "+-" and after_operand:
            tokens.append(("arithmetic", value[0], start))
            tokens.append(("number", value[1:], start + 1))
        else:
            tokens.append((kind, value, start))
        position = match.end()
    return tokens


def parse_comparison(text: str) -> Comparison:
    """Parse ``text`` by the grammar above; a :class:`ValueError` says where it fails.

    >>> parse_comparison("temp >= -60")
    Comparison(left=Term(left='temp', operator=None, right=None), operator='>=', \
right=Term(left=-60.0, operator=None, right=None))
    >>> parse_comparison("a < b < c")
    Traceback (most recent call last):
    ...
    ValueError: 'a < b < c' does not parse: unexpected '<' at 6 (one comparison per rule)
    """
    tokens = _tokens(text)
    at = 0

    def fail(expected: str) -> ValueError:
        where = f"at {tokens[at][2]}" if at < len(tokens) else "at the end"
        return ValueError(f"{text!r} does not parse: expected {expected} {where}")

    def operand() -> Operand:
        nonlocal at
        if at >= len(tokens) or tokens[at][0] not in ("number", "name"):
            raise fail("a feature or a number")
        kind, value, _ = tokens[at]
        at += 1
        return float(value) if kind == "number" else value

    def term() -> Term:
        nonlocal at
        left = operand()
        if at < len(tokens) and tokens[at][0] == "arithmetic":
            symbol = tokens[at][1]
            at += 1
            return Term(left, symbol, operand())
        return Term(left)

    left = term()
    if at >= len(tokens) or tokens[at][0] != "compare":
        raise fail("a comparison (<, <=, >, >=, ==, !=)")
    symbol = tokens[at][1]
    at += 1
    right = term()
    if at < len(tokens):
        extra = tokens[at]
        why = " (one comparison per rule)" if extra[0] == "compare" else ""
        raise ValueError(f"{text!r} does not parse: unexpected {extra[1]!r} at {extra[2]}{why}")
    return Comparison(left, symbol, right)


def compile_comparison(comparison: Comparison) -> Callable[[Mapping[str, Any]], bool | None]:
    """A function of the feature values: ``True`` or ``False``, or ``None`` when the rule
    does not apply (a feature it reads is missing, or it divides by zero)."""
    compare = COMPARISONS[comparison.operator]
    left = _compile_term(comparison.left)
    bound = comparison.right
    if bound.operator is None and not isinstance(bound.left, str):  # a term and a number
        limit = bound.left

        def holds_limit(values: Mapping[str, Any]) -> bool | None:
            a = left(values)
            return None if a is None else compare(a, limit)

        return holds_limit
    right = _compile_term(bound)

    def holds(values: Mapping[str, Any]) -> bool | None:
        a = left(values)
        if a is None:
            return None
        b = right(values)
        return None if b is None else compare(a, b)

    return holds


def _compile_term(term: Term) -> Callable[[Mapping[str, Any]], Any]:
    first, second = term.left, term.right
    if term.operator is None:
        if isinstance(first, str):
            return lambda values: values.get(first)
        return lambda values: first
    compute = _ARITHMETIC[term.operator]

    def value(values: Mapping[str, Any]) -> Any:
        a = values.get(first) if isinstance(first, str) else first
        b = values.get(second) if isinstance(second, str) else second
        if a is None or b is None:
            return None
        try:
            return compute(a, b)
        except (ZeroDivisionError, OverflowError):
            return None

    return value
