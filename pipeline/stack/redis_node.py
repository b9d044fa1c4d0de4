"""The local Redis server: config, command, and the URL that carries its password."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import redis

from pipeline.core.errors import StackError
from pipeline.stack.secret_files import write_private

__all__ = [
    "redis_command",
    "render_redis_conf",
    "require_password",
    "with_password",
    "write_redis_conf",
]


def render_redis_conf(*, port: int, home: Path, password: str | None = None) -> str:
    """A ``redis.conf`` on loopback with append-only persistence (checkpoints live here).

    With ``password`` every client must authenticate (``requirepass``).

    >>> text = render_redis_conf(port=6380, home=Path("/s/redis"), password="pw")
    >>> "port 6380" in text, "requirepass pw" in text
    (True, True)
    """
    auth = [f"requirepass {password}"] if password else []
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
            *auth,
            "",
        ]
    )


def write_redis_conf(path: Path, *, port: int, home: Path, password: str | None) -> None:
    """Write the config to ``path``, readable by its owner only: it holds the password."""
    write_private(path, render_redis_conf(port=port, home=home, password=password))


def redis_command(conf: Path, port: int) -> list[str]:
    """The command that runs ``redis-server`` with ``conf`` (the port repeated, so it shows)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError(
            "redis-server is not installed; 'make setup' installs it (Debian: "
            "apt-get install redis-server), or set DRIFTLINE_REDIS_URL to an existing Redis"
        )
    return [binary, str(conf), "--port", str(port)]


def with_password(url: str, password: str | None) -> str:
    """``url`` carrying ``password`` (as Redis's default user), or as it is without one.

    >>> with_password("redis://127.0.0.1:6390/0", "s3cr/t")
    'redis://:s3cr%2Ft@127.0.0.1:6390/0'
    >>> with_password("redis://127.0.0.1:6390/0", None)
    'redis://127.0.0.1:6390/0'
    """
    if not password:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f":{quote(password, safe='')}@{parts.netloc}"))


def require_password(url: str, password: str) -> None:
    """Make a running Redis at ``url`` that has no password (an older stack) require one.

    A Redis that already asks for a password answers NOAUTH and is left as it is; the
    readiness wait then finds out whether the password is the stack's.
    """
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.config_set("requirepass", password)
    except redis.RedisError:
        pass
    finally:
        client.close()
