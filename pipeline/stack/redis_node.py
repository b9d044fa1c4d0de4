"""The local Redis server: config and command."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.core.errors import StackError

__all__ = ["redis_command", "render_redis_conf"]


def render_redis_conf(*, port: int, home: Path) -> str:
    """A ``redis.conf`` on loopback with append-only persistence (checkpoints live here).

    >>> "port 6380" in render_redis_conf(port=6380, home=Path("/s/redis"))
    True
    """
    return "\n".join(
        [
            "# written by driftline",
            "bind 127.0.0.1",
            f"port {port}",
            "protected-mode yes",
            "daemonize no",
            f"dir {home}",
            f"logfile {home / 'redis.log'}",
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            "",
        ]
    )


def redis_command(conf: Path, port: int) -> list[str]:
    """The command that runs ``redis-server`` with ``conf`` (the port repeated, so it shows)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError(
            "redis-server is not installed; 'make setup' installs it (Debian: "
            "apt-get install redis-server), or set DRIFTLINE_REDIS_URL to an existing Redis"
        )
    return [binary, str(conf), "--port", str(port)]
