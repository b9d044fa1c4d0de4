"""The running statistics a contract's check imputes missing values from."""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_COUNTED_VALUES", "ContractState"]

#: Distinct values counted per feature for the most frequent one; later ones are not.
MAX_COUNTED_VALUES = 1000


class ContractState:
    """The running statistics a check imputes from: count and mean of each imputed
    number, counts of each imputed category or boolean (at most :data:`MAX_COUNTED_VALUES`
    distinct values per feature: later new values are not counted). Picklable, checkpointed
    with the task; the same values learned in the same order give the same state."""

    __slots__ = ("counts", "means")

    def __init__(self) -> None:
        #: feature -> [count, mean]
        self.means: dict[str, list[float]] = {}
        #: feature -> value -> count
        self.counts: dict[str, dict[Any, int]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"means": self.means, "counts": self.counts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.means, self.counts = state["means"], state["counts"]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContractState):
            return NotImplemented
        return self.means == other.means and self.counts == other.counts

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ContractState(means={self.means}, counts={self.counts})"

    def mean(self, feature: str) -> tuple[int, float] | None:
        """(count, mean) of ``feature``, or ``None`` before any value."""
        held = self.means.get(feature)
        return None if held is None else (int(held[0]), held[1])

    def mode(self, feature: str) -> tuple[int, Any] | None:
        """(count, most frequent value) of ``feature`` (ties: the smallest value)."""
        counts = self.counts.get(feature)
        if not counts:
            return None
        value, _ = min(counts.items(), key=lambda item: (-item[1], item[0]))
        return sum(counts.values()), value

    def add_number(self, feature: str, value: float) -> None:
        held = self.means.get(feature)
        if held is None:
            self.means[feature] = [1.0, float(value)]
        else:
            held[0] += 1
            held[1] += (value - held[1]) / held[0]

    def add_value(self, feature: str, value: Any) -> None:
        counts = self.counts.setdefault(feature, {})
        if value in counts:
            counts[value] += 1
        elif len(counts) < MAX_COUNTED_VALUES:
            counts[value] = 1
