"""How the worker polls and keeps its group membership."""

from __future__ import annotations

from pydantic import Field

from driftline.adapters.settings.group import SettingsGroup

__all__ = ["WorkerSettings"]


class WorkerSettings(SettingsGroup):
    """How the worker polls and keeps its group membership."""

    max_poll_records: int = Field(2000, ge=1)
    session_timeout_ms: int = Field(
        10_000, ge=6_000, description="how long a silent worker keeps its partitions"
    )
    stall_s: float = Field(
        120.0,
        gt=0,
        description="a Kafka call unanswered this long, or no partition assigned this long, "
        "is reported (and 'consume' exits with 75 for a call)",
    )
