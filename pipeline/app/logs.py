"""Logging for people: configured once by the command, rich output on standard error;
the command's answer (tables, summaries) on standard output."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.logging import RichHandler

__all__ = ["configure_logging", "stderr", "stdout"]

#: Logs, progress and error lines go here.
stderr = Console(stderr=True)
#: The answer (tables, summaries): off a terminal plain text, as wide as it needs.
stdout = Console(width=None if sys.stdout.isatty() else 1000)


def configure_logging(verbose: int = 0) -> None:
    """INFO by default, DEBUG with ``-v``; kafka-python's chatter only from ``-vv``."""
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(
        level=level,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(console=stderr, show_path=False, rich_tracebacks=False)],
        force=True,
    )
    # kafka-python logs every lost connection at ERROR with a traceback (a broker restart,
    # a coordinator move): the worker waits those out and says so itself.
    logging.getLogger("kafka").setLevel(logging.DEBUG if verbose > 1 else logging.CRITICAL)
