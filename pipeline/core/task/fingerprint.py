"""The fingerprint of a configuration: 16 hex digits that change when, and only when,
something that decides what a task computes changes (0 and 0.0 alike).

A checkpoint's header records it, and every prediction carries it (the ``config`` field
of its Redis hash and stream entry), so a prediction can be traced to the configuration
that made it and a replay with the same one can be recognised.

>>> from dataclasses import dataclass
>>> @dataclass
... class C:
...     rate: float = 0.1
...     window: int = 10
>>> config_fingerprint(C()) == config_fingerprint(C(window=10.0)), len(config_fingerprint(C()))
(True, 16)
>>> config_fingerprint(C()) == config_fingerprint(C(rate=0.2))
False
>>> @dataclass
... class F:
...     function: object = None
>>> config_fingerprint(F()) == config_fingerprint(F(function=len))
False
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from driftline.core.learning.user_code import qualified_name

__all__ = ["config_fingerprint"]


def config_fingerprint(config: Any) -> str:
    """A digest of a dataclass configuration's every field (numbers as floats, a function
    by its ``module:qualname``); a field marked ``metadata={"fingerprint": "when set"}``
    counts only when it is not ``None``."""
    text = json.dumps(_canonical(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _canonical(value: Any) -> Any:
    if isinstance(value, bool | str) or value is None:  # a model given in Python is a str
        return value
    if isinstance(value, int):
        return float(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            spec.name: _canonical(getattr(value, spec.name))
            for spec in dataclasses.fields(value)
            if getattr(value, spec.name) is not None or spec.metadata.get("fingerprint") is None
        }
    if hasattr(value, "model_dump"):  # a pydantic model (a data contract)
        return _canonical(value.model_dump(mode="json"))
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if callable(value):  # a feature function: by name (its code is not read)
        return qualified_name(value, "function")
    return value
