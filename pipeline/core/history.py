"""Label history: how often the outcome was positive lately, per entity and per segment.

A streaming feature that batch pipelines get wrong easily: the rate is read when the
observation is predicted and updated only when an outcome is *learned*, so it holds
exactly what was known at prediction time (no label leakage, whatever the delays).
Flight delays cluster (weather, congestion), so the recent late rate of the origin
airport and of the carrier is a strong signal.

>>> history = LabelHistory(alpha=0.5, groups=("key", "carrier"))
>>> groups = history.groups_of("EWR", {"carrier": "UA", "distance": 1400})
>>> groups
{'key': 'EWR', 'carrier': 'UA'}
>>> history.features(groups)
{}
>>> history.update(groups, True)
>>> history.update(groups, False)
>>> history.features(groups)
{'recent_label[key]': 0.5, 'recent_label[carrier]': 0.5}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LabelHistory"]


class LabelHistory:
    """Exponentially weighted mean of numeric labels per (group, value)."""

    def __init__(self, alpha: float = 0.05, groups: tuple[str, ...] = ("key",)) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self.groups = groups
        self._means: dict[tuple[str, str], float] = {}

    def groups_of(self, key: str, features: Mapping[str, Any]) -> dict[str, str]:
        """The segment values of one observation (``key`` is the entity)."""
        found: dict[str, str] = {}
        for group in self.groups:
            value = key if group == "key" else features.get(group)
            if value is not None:
                found[group] = str(value)
        return found

    def features(self, groups: Mapping[str, str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for group, value in groups.items():
            mean = self._means.get((group, value))
            if mean is not None:
                out[f"recent_label[{group}]"] = mean
        return out

    def update(self, groups: Mapping[str, str], label: Any) -> None:
        """Fold one learned label in (booleans count 1/0; text labels are skipped)."""
        if isinstance(label, str):
            return
        y = float(label)
        for group, value in groups.items():
            slot = (group, value)
            mean = self._means.get(slot)
            self._means[slot] = y if mean is None else mean + self.alpha * (y - mean)
