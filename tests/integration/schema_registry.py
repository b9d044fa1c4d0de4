"""A real schema registry for the tests that need one: the local stack's Apicurio Registry
(built once with Maven into the stack's cache), started alone on a loopback port.

The ``schema_registry`` fixture (``tests/conftest.py``) starts it once per run. The tests
using it are skipped, with the reason, only when Maven cannot build the registry (no Maven,
no network on a first build); a registry that is built but does not answer fails them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from driftline.adapters.settings import StackSettings
from driftline.core.errors import StackError
from driftline.stack import ensure_registry_jar
from driftline.stack.processes import stop_processes
from driftline.stack.readiness import wait_registry
from driftline.stack.registry_node import start_registry

__all__ = ["running_registry"]


@contextmanager
def running_registry(home: Path, start_timeout_s: float = 180) -> Iterator[str]:
    """The Confluent-compatible URL of a registry running in ``home`` until the block ends."""
    try:
        jar = ensure_registry_jar(StackSettings().cache_dir)
    except StackError as exc:
        pytest.skip(f"Maven cannot build the schema registry here: {exc}")
    entry = start_registry(home, None, jar)
    try:
        wait_registry(entry["url"], time.monotonic() + start_timeout_s)
        yield str(entry["url"])
    finally:
        stop_processes([(int(entry["pid"]), int(entry["started"]))])
