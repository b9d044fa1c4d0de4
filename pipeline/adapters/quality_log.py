"""The quality log's entries: one Redis stream entry per data-quality finding.

The worker writes them (:meth:`driftline.adapters.redis_sink.RedisSink.record`) and the readers
read them back (``driftline quality log``, ``GET /quality/log``, the fault-injection
report), so the fields are written and parsed here only.

>>> from driftline.core.quality.figures import QualityFinding
>>> from driftline.core.quality.reasons import Rule
>>> converted = Rule.UNIT_CONVERTED
>>> entry = quality_entry(QualityFinding(2, 41, "f1", "observation", converted.dimension,
...                                      converted, "distance", "accepted"))
>>> entry["dimension"], entry["rule"], entry["feature"], type(entry["rule"])
('consistency', 'unit-converted', 'distance', <class 'str'>)
>>> read_quality_entry({k.encode(): v.encode() for k, v in entry.items()})["offset"]
41
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driftline.core.quality.figures import QualityFinding

__all__ = ["QUALITY_FIELDS", "quality_entry", "read_quality_entry"]

QUALITY_FIELDS = QualityFinding._fields


def quality_entry(finding: QualityFinding) -> dict[str, str]:
    """The stream entry's fields (an absent event id or feature is an empty string)."""
    return {
        name: "" if value is None else str(value)
        for name, value in zip(QUALITY_FIELDS, finding, strict=True)
    }


def read_quality_entry(fields: Mapping[Any, Any]) -> dict[str, Any]:
    """An entry's fields as JSON-ready values (bytes or text keys and values)."""
    text = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in fields.items()
    }
    out: dict[str, Any] = {name: text.get(name) or None for name in QUALITY_FIELDS}
    out["partition"] = int(text.get("partition", -1))
    out["offset"] = int(text.get("offset", -1))
    return out
