"""A digest of an object's state that is equal for equal states.

Pickle bytes are not such a digest: they record which objects are *shared* (two dict
keys that are the same string object, or two equal strings), which depends on history,
not state, so a model restored from a checkpoint pickles differently from the same model
that never stopped. This walks the object graph instead and hashes values only.

>>> from river import linear_model
>>> a, b = linear_model.LogisticRegression(), linear_model.LogisticRegression()
>>> a.learn_one({"x": 1.0}, True)
>>> b.learn_one({"x" + "": 1.0}, True)
>>> state_digest(a) == state_digest(b)
True
>>> b.learn_one({"x": 2.0}, False)
>>> state_digest(a) == state_digest(b)
False
"""

from __future__ import annotations

import copyreg
import functools
import hashlib
import json
import types
from collections import deque
from datetime import date, datetime, timedelta
from typing import Any

__all__ = ["canonical", "state_digest"]


def state_digest(obj: Any) -> str:
    """16 hex digits of SHA-256 over the canonical form of ``obj``."""
    text = json.dumps(canonical(obj), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def canonical(obj: Any, _active: set[int] | None = None) -> Any:
    """A JSON-ready value that depends on ``obj``'s state only (order kept where it exists)."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return ["f", obj.hex()]
    if isinstance(obj, bytes):
        return ["b", obj.hex()]
    if isinstance(obj, datetime | date):
        return ["t", obj.isoformat()]
    if isinstance(obj, timedelta):
        return ["td", obj.total_seconds()]
    if isinstance(obj, type):
        return ["type", f"{obj.__module__}.{obj.__qualname__}"]
    active = _active if _active is not None else set()
    if id(obj) in active:
        return ["cycle"]
    active.add(id(obj))
    try:
        return _container(obj, active)
    finally:
        active.discard(id(obj))


def _container(obj: Any, active: set[int]) -> Any:
    if isinstance(obj, list | tuple | deque):
        return [type(obj).__name__, [canonical(x, active) for x in obj]]
    if isinstance(obj, set | frozenset):
        items = [canonical(x, active) for x in obj]
        return ["set", sorted(items, key=lambda item: json.dumps(item))]
    if isinstance(obj, dict):
        return [
            type(obj).__name__,
            [[canonical(k, active), canonical(v, active)] for k, v in obj.items()],
        ]
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy arrays and scalars
        return ["array", str(obj.dtype), canonical(obj.tolist(), active)]
    if isinstance(obj, types.FunctionType | types.BuiltinFunctionType):
        return ["callable", f"{obj.__module__}.{obj.__qualname__}"]
    if isinstance(obj, types.MethodType):
        return ["method", canonical(obj.__self__, active), obj.__func__.__qualname__]
    if isinstance(obj, functools.partial):
        return [
            "partial",
            canonical(obj.func, active),
            canonical(obj.args, active),
            canonical(obj.keywords, active),
        ]
    if callable(obj) and not hasattr(obj, "__dict__"):
        name = getattr(obj, "__qualname__", repr(obj))
        return ["callable", f"{getattr(obj, '__module__', '')}.{name}"]
    registered = copyreg.dispatch_table.get(type(obj))
    if registered is not None:
        reduced = registered(obj)
    elif hasattr(obj, "__reduce_ex__"):
        reduced = obj.__reduce_ex__(4)
    else:
        return ["repr", repr(obj)]
    if isinstance(reduced, str):
        return ["global", reduced]
    rebuild, args, *rest = reduced
    state = rest[0] if rest else None
    return [
        "object",
        f"{type(obj).__module__}.{type(obj).__qualname__}",
        canonical(args, active),
        canonical(state, active),
    ]
