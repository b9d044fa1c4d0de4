"""Logging for people: configured once by the command, on standard error, as
``DRIFTLINE_LOG_FORMAT`` says (:mod:`driftline.app.log_formats`): rich at a terminal,
plain lines elsewhere, or JSON; secrets masked in every format
(:mod:`driftline.app.log_secrets`). The command's answer (tables, summaries) goes to
standard output."""

from __future__ import annotations

import logging
import os
import sys

from rich.console import Console
from rich.logging import RichHandler

from driftline.app.log_formats import (
    LOG_FORMAT_VARIABLE,
    JsonFormatter,
    LogFormat,
    PlainFormatter,
    log_format,
)
from driftline.app.log_secrets import SECRETS

__all__ = ["configure_logging", "stderr", "stdout"]

#: Logs, progress and error lines go here.
stderr = Console(stderr=True)
#: The answer (tables, summaries): off a terminal plain text, as wide as it needs.
stdout = Console(width=None if sys.stdout.isatty() else 1000)


def configure_logging(verbose: int = 0) -> None:
    """INFO by default, DEBUG with ``-v``; kafka-python's chatter only from ``-vv``. The
    format is ``DRIFTLINE_LOG_FORMAT``'s (an invalid one is a ConfigError)."""
    form = log_format(os.environ.get(LOG_FORMAT_VARIABLE), terminal=stderr.is_terminal)
    level = logging.DEBUG if verbose else logging.INFO
    handler = _handler(form)
    handler.addFilter(SECRETS)
    logging.basicConfig(
        level=level, format="%(message)s", datefmt="[%X]", handlers=[handler], force=True
    )
    # kafka-python logs every lost connection at ERROR with a traceback (a broker restart,
    # a coordinator move): the worker waits those out and says so itself.
    logging.getLogger("kafka").setLevel(logging.DEBUG if verbose > 1 else logging.CRITICAL)


def _handler(form: LogFormat) -> logging.Handler:
    if form is LogFormat.RICH:
        return RichHandler(console=stderr, show_path=False, rich_tracebacks=False)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if form is LogFormat.JSON else PlainFormatter())
    return handler
