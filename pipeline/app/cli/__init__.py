"""The ``driftline`` command: one module per command group, wired here.

The root callback reads the settings once (``--namespace``, ``DRIFTLINE_*``, ``.env``, the
``--config`` file, in that precedence);
each command takes its services (:mod:`driftline.app.cli.services`: the settings, Kafka,
Redis, the local stack, each built on first use) and calls into the edges. The answer goes
to standard output, logs and progress to standard error. A
:class:`~driftline.core.errors.DriftlineError` or invalid setting becomes one line on
standard error and the exit status of its kind (:class:`~driftline.core.errors.ExitCode`).

Importing this package loads no model library, web framework or service client (River,
SciPy, FastAPI, Kafka, Redis): each command imports what it needs when it runs, so
``--help`` and ``predictions get`` start at once (``tests/unit/app/cli/test_lazy_imports.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic_core import ValidationError
from rich.markup import escape

from driftline.app.cli.common import Namespace, State
from driftline.app.cli.config import show_config
from driftline.app.cli.consume import consume
from driftline.app.cli.demo import demo
from driftline.app.cli.events import events_app
from driftline.app.cli.model import model_app
from driftline.app.cli.predictions import predictions_app, show_alerts, show_metrics, show_quality
from driftline.app.cli.produce import produce_app
from driftline.app.cli.replay import replay
from driftline.app.cli.serve import serve
from driftline.app.cli.stack import stack_app
from driftline.app.cli.topics import topics_app
from driftline.app.cli.validate import validate
from driftline.app.log_secrets import hide_in_logs
from driftline.app.logs import configure_logging, stderr
from driftline.app.version import version_line
from driftline.core.errors import DriftlineError, ExitCode

__all__ = ["app", "main"]

app = typer.Typer(
    name="driftline",
    help="Streaming ingestion and online inference: Kafka events in, River predictions out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(stack_app, name="stack")
app.add_typer(topics_app, name="topics")
app.add_typer(produce_app, name="produce")
app.add_typer(events_app, name="events")
app.command("consume")(consume)
app.add_typer(predictions_app, name="predictions")
app.command("metrics")(show_metrics)
app.command("alerts")(show_alerts)
app.command("quality")(show_quality)
app.add_typer(model_app, name="model")
app.command("config")(show_config)
app.command("demo")(demo)
app.command("serve")(serve)
app.command("validate")(validate)
app.command("replay")(replay)


def _show_version(shown: bool) -> None:
    """``--version``: ``driftline <version>`` on standard output, exit 0, settings unread."""
    if shown:
        print(version_line())
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    namespace: Namespace = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v: debug, with the config")
    ] = 0,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_show_version,
            help="print driftline's version and exit",
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="DRIFTLINE_CONFIG",
            help="a TOML file of settings, in the groups 'driftline config --format toml' "
            "writes; DRIFTLINE_* variables and .env override it",
        ),
    ] = None,
) -> None:
    from driftline.adapters.settings import Settings  # pydantic-settings: not for --help

    configure_logging(verbose)
    settings = Settings(_config_file=config).with_overrides(namespace=namespace)
    hide_in_logs(settings.secret_values())
    ctx.obj = State(settings)


def main() -> None:
    """Entry point: a DriftlineError becomes one line and its exit status
    (:attr:`~driftline.core.errors.DriftlineError.exit_code`), an invalid setting one line
    and exit status 2 (as click's usage errors)."""
    try:
        app()
    except DriftlineError as exc:
        _error(str(exc), exc.exit_code)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        _error(f"invalid setting {_variable(where)}: {first['msg']}", ExitCode.USAGE)


def _variable(where: str) -> str:
    """The variable (or option) that sets ``group.field``, for error messages."""
    from driftline.adapters.settings import variable_names

    extra = {"namespace": "--namespace / DRIFTLINE_NAMESPACE", "seed": "DRIFTLINE_SEED"}
    return (variable_names() | extra).get(where, where)


def _error(message: str, code: ExitCode) -> None:
    """One line on standard error (never wrapped, never markup), then exit status ``code``."""
    stderr.print(f"[bold red]error:[/] {escape(' '.join(message.split()))}", soft_wrap=True)
    raise SystemExit(int(code))
