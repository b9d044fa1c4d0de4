"""What every command shares: the settings of this run, options, output.

The services a command reaches (Kafka, Redis, the local stack) are in
:mod:`driftline.app.cli.services`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from driftline.core import jsonsafe

if TYPE_CHECKING:
    from driftline.adapters.settings import Settings

__all__ = [
    "Json",
    "Namespace",
    "Partitions",
    "Seed",
    "State",
    "emit_json",
    "refuse_with",
    "refuse_without",
]


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


def refuse_without(ctx: typer.Context, name: str, needed: str, present: bool) -> None:
    """Refuse option ``name``, given on the command line, when option ``needed`` is not
    (``present``): alone it would have no effect. A usage error (exit 2) naming both.

    >>> app = typer.Typer()
    >>> @app.command()
    ... def metrics(ctx: typer.Context, history: bool = False, window: float = 0.0) -> None:
    ...     refuse_without(ctx, "window", "history", history)
    >>> from typer.testing import CliRunner
    >>> [CliRunner().invoke(app, args).exit_code for args in (["--window", "5"], [],
    ...                                                       ["--history", "--window", "5"])]
    [2, 0, 0]
    """
    if not present and _given(ctx, name):
        given, wanted = _flag(ctx, name), _flag(ctx, needed)
        ctx.fail(f"{given} has no effect without {wanted}: give both, or neither")


def refuse_with(ctx: typer.Context, name: str, other: str, present: bool) -> None:
    """Refuse option ``name``, given on the command line, when option ``other`` is
    (``present``) and makes it moot (``events tail --last`` with ``--from-beginning``)."""
    if present and _given(ctx, name):
        given, moot = _flag(ctx, name), _flag(ctx, other)
        ctx.fail(f"{given} has no effect with {moot}: give one or the other")


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether parameter ``name`` was given on the command line (not a default, not a
    variable: a container's environment may set both ends of a pair)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"  # typer's own click


def _flag(ctx: typer.Context, name: str) -> str:
    """The long form of the option of parameter ``name`` (``window`` -> ``--window``)."""
    for param in ctx.command.params:
        if param.name == name:
            return max(param.opts, key=len)
    return f"--{name.replace('_', '-')}"
