"""What every command shares: the settings of this run, options, output.

The services a command reaches (Kafka, Redis, the local stack) are in
:mod:`driftline.app.cli.services`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from driftline.adapters.settings import Settings
from driftline.core import jsonsafe

__all__ = ["Json", "Namespace", "Partitions", "Seed", "State", "emit_json"]


@dataclass
class State:
    """The settings read once by the root command (with its ``--namespace``), and whether
    the effective config was logged."""

    settings: Settings
    shown: bool = False


def emit_json(payload: Any) -> None:
    """One JSON object on the last line of standard output (never NaN or Infinity)."""
    sys.stdout.write(jsonsafe.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


Namespace = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="prefix of topics, groups and Redis keys"),
]
Json = Annotated[bool, typer.Option("--json", help="print the result as one JSON line")]
Partitions = Annotated[int | None, typer.Option(min=1, help="partitions of new topics")]
Seed = Annotated[int | None, typer.Option(help="seed of every random choice (DRIFTLINE_SEED)")]
