"""What is wrong in a TOML or YAML file a user wrote (a data contract, a source file), said
in one line per problem: where it is and what it is, without pydantic's URLs.

>>> one_line("a\\n  b   c")
'a b c'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from pydantic import ValidationError

__all__ = ["one_line", "validation_problems", "yaml_problem"]


def validation_problems(
    exc: ValidationError,
    noun: str,
    place: Callable[[tuple[int | str, ...]], str] = lambda loc: ".".join(map(str, loc)),
    *,
    most: int = 3,
    lower: bool = False,
) -> str:
    """The first ``most`` problems of ``exc``, each at its ``place``; an unknown key is "not
    a key of a ``noun`` here (a typo?)"; ``lower``: messages start in lower case."""
    problems = []
    for error in exc.errors(include_url=False):
        where = place(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            message = f"not a key of a {noun} here (a typo?)"
        else:
            message = error["msg"].removeprefix("Value error, ")
            if lower:
                message = message[:1].lower() + message[1:]
            if kind not in ("value_error", "missing") and "input" in error:
                message += f" (got {one_line(repr(error['input']))[:80]})"
        problems.append(f"{where}: {message}" if where else message)
    more = f"; and {len(problems) - most} more" if len(problems) > most else ""
    return "; ".join(problems[:most]) + more


def yaml_problem(exc: yaml.YAMLError) -> str:
    """Where a YAML syntax error is (line and column, 1-based) and what it is."""
    mark: Any = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return one_line(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {one_line(problem)}"


def one_line(text: str) -> str:
    """``text`` with every run of white space folded to one space."""
    return " ".join(text.split())
