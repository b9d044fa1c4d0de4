"""Control commands: an operator's order to a running group, written into the log.

``driftline model promote NAME`` and ``driftline model rollback`` do not reach into the
workers: they append a control record to every partition concerned, and each
task obeys it when it reads it, at its offset. A replay after a crash reads the same record
at the same offset and does the same thing, so the exact-state rule holds across a command
as it does across an event; whichever worker holds the partition, now or later, obeys it.

>>> ControlCommand(command="promote", argument="tree", issued_by="cli").kind
'control'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from driftline.core.events import schemas

__all__ = ["CONTROL_SCHEMA_ID", "ControlCommand", "control_schema"]

#: The local-only schema id of control records (observation 1, outcome 2, tick 3), used
#: without a schema registry; with one, the registry's id (:mod:`driftline.core.events.codec`).
CONTROL_SCHEMA_ID = 4


class ControlCommand(BaseModel):
    """Promote a challenger by name, or roll the models back to a kept checkpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: Literal["promote", "rollback"]
    argument: str = Field(min_length=1, max_length=256)
    issued_by: str = Field("", max_length=256)

    @property
    def kind(self) -> str:
        return "control"


def control_schema() -> dict[str, Any]:
    """The control record's Avro schema (parsed JSON), read once from the package."""
    return schemas.load("control")
