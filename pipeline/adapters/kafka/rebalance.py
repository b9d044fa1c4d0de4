"""What a record source tells its reader of a consumer group's rebalances."""

from __future__ import annotations

from typing import Protocol

__all__ = ["RebalanceListener"]


class RebalanceListener(Protocol):
    """Told when partitions leave and arrive (possibly on another thread): the worker."""

    def on_revoked(self, partitions: set[int]) -> None: ...

    def on_assigned(self, partitions: set[int]) -> None: ...
