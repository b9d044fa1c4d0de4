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
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

__all__ = ["config_fingerprint"]


def config_fingerprint(config: Any) -> str:
    """A digest of a dataclass configuration's every field (numbers as floats)."""
    text = json.dumps(_numbers_as_floats(dataclasses.asdict(config)), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _numbers_as_floats(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if hasattr(value, "model_dump"):  # a pydantic model (a data contract)
        return _numbers_as_floats(value.model_dump(mode="json"))
    if isinstance(value, dict):
        return {k: _numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers_as_floats(v) for v in value]
    return value
