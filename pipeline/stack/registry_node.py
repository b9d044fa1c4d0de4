"""The local stack's schema registry: Apicurio Registry on a loopback port, in-memory
storage (empty at every start: driftline registers its schemas again when it starts), heap
capped at 128 MB. Its Confluent-compatible API is ``<base>/apis/ccompat/v6``.

>>> registry_url(8081)
'http://127.0.0.1:8081/apis/ccompat/v6'
>>> registry_command(Path("/c/r.jar"), 8081)[:3]
['java', '-Xmx128m', '-Dquarkus.http.host=127.0.0.1']
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from driftline.stack import processes

__all__ = ["CCOMPAT_PATH", "registry_command", "registry_url", "start_registry"]

log = logging.getLogger(__name__)

#: Where Apicurio 2.1 answers as a Confluent schema registry (v7 answers 404 there).
CCOMPAT_PATH = "/apis/ccompat/v6"


def registry_url(port: int) -> str:
    """The Confluent-compatible URL of a local registry on ``port``."""
    return f"http://127.0.0.1:{port}{CCOMPAT_PATH}"


def registry_command(jar: Path, port: int, heap: str = "128m") -> list[str]:
    """The command that runs the registry on loopback ``port`` (it binds 0.0.0.0 unless told)."""
    return [
        "java",
        f"-Xmx{heap}",
        "-Dquarkus.http.host=127.0.0.1",
        f"-Dquarkus.http.port={port}",
        "-Dquarkus.log.console.color=false",
        "-jar",
        str(jar),
    ]


def start_registry(home: Path, previous: dict[str, Any] | None, jar: Path) -> dict[str, Any]:
    """Start the registry in ``home`` on its recorded port when free; its ``stack.json``
    entry (with its ``url``)."""
    home.mkdir(parents=True, exist_ok=True)
    port = int(previous["port"]) if previous else None
    if port is None or not processes.port_frees(port):
        if port is not None:
            log.warning("the schema registry moves to a new port: %s is taken", port)
        port = processes.free_port()
    log_path = home / "registry.log"
    pid = processes.spawn(registry_command(jar, port), log_path)
    return {
        "name": "schema-registry",
        "pid": pid,
        "port": port,
        "url": registry_url(port),
        "home": str(home),
        "log": str(log_path),
        "started": processes.start_ticks(pid),
    }
