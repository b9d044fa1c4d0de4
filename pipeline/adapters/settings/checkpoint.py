"""When and where task state is checkpointed (``DRIFTLINE_CHECKPOINT_*``), and the key
that seals it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from driftline.adapters.settings.group import SettingsGroup

__all__ = ["CheckpointSettings"]


class CheckpointSettings(SettingsGroup):
    """When and where task state is checkpointed, and the key that seals it."""

    prefix: ClassVar[str] = "checkpoint_"

    every: int = Field(5000, ge=1, description="records between checkpoints")
    history: int = Field(
        10, ge=1, description="checkpoints kept per partition (the latest included)"
    )
    interval_s: float = Field(10.0, gt=0, description="seconds between checkpoints")
    store: Literal["redis", "directory"] = "redis"
    dir: Path = Field(Path(".driftline/checkpoints"))
    key: SecretStr | None = Field(
        None, description="HMAC key of checkpoints (>= 16 bytes), never printed"
    )
    key_file: Path | None = Field(
        None, description="a file holding the key (owner-only), instead of the key itself"
    )
