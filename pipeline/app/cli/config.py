"""``driftline config``: the effective settings (environment, ``.env``, ``--config``
file, ``--namespace``), as JSON, as a config file (TOML) or as ``DRIFTLINE_*`` lines."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from driftline.app.cli.common import Namespace, emit_json
from driftline.app.cli.services import services_of

__all__ = ["show_config"]


class Form(StrEnum):
    """The choices of ``--format``: :class:`~driftline.adapters.settings.ConfigFormat`'s,
    named here so that the command's ``--help`` does not import the settings."""

    JSON = "json"
    TOML = "toml"
    ENV = "env"


def show_config(
    ctx: typer.Context,
    namespace: Namespace = None,
    form: Annotated[
        Form,
        typer.Option(
            "--format",
            help="json: one line, grouped; toml: a config file for --config; "
            "env: DRIFTLINE_* lines for a .env file or a shell",
        ),
    ] = Form.JSON,
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
    from driftline.adapters.settings import ConfigFormat, config_json, config_text

    settings = services_of(ctx, namespace).settings
    if form is Form.JSON:
        emit_json(config_json(settings, show_secrets=show_secrets))
        return
    sys.stdout.write(config_text(settings, ConfigFormat(form.value), show_secrets=show_secrets))
    sys.stdout.flush()
