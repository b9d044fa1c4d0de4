"""``driftline config``: the effective settings (environment, ``.env``, ``--config``
file, ``--namespace``), as JSON, as a config file (TOML) or as ``DRIFTLINE_*`` lines."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from driftline.adapters.settings import ConfigFormat, config_json, config_text
from driftline.app.cli.common import Namespace, emit_json
from driftline.app.cli.services import services_of

__all__ = ["show_config"]


def show_config(
    ctx: typer.Context,
    namespace: Namespace = None,
    form: Annotated[
        ConfigFormat,
        typer.Option(
            "--format",
            help="json: one line, grouped; toml: a config file for --config; "
            "env: DRIFTLINE_* lines for a .env file or a shell",
        ),
    ] = ConfigFormat.JSON,
    show_secrets: Annotated[
        bool,
        typer.Option(
            "--show-secrets",
            help="write passwords and keys as they are (masked by default: in toml and env "
            "a masked secret is a comment, so the text still loads)",
        ),
    ] = False,
) -> None:
    """Print the effective settings (secrets masked), grouped by concern, to stdout."""
    settings = services_of(ctx, namespace).settings
    if form is ConfigFormat.JSON:
        emit_json(config_json(settings, show_secrets=show_secrets))
        return
    sys.stdout.write(config_text(settings, form, show_secrets=show_secrets))
    sys.stdout.flush()
