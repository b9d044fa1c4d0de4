"""JSON that is JSON: non-finite numbers become ``null`` (``NaN`` is not JSON).

>>> dumps({"log_loss": float("nan"), "p99": float("inf"), "ok": [1.5, None]})
'{"log_loss": null, "p99": null, "ok": [1.5, null]}'
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "finite"]


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (at any depth) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def dumps(value: Any, **options: Any) -> str:
    """:func:`json.dumps` of :func:`finite` ``value``; refuses NaN if any slips through."""
    return json.dumps(finite(value), allow_nan=False, **options)
