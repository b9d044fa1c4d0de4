"""The local Redis server: config, command, and the URL that carries its password."""

from __future__ import annotations

import hashlib
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import redis

from driftline.core.errors import StackError
from driftline.stack.secret_files import write_private

__all__ = [
    "RedisTls",
    "redis_command",
    "secured_url",
    "render_redis_conf",
    "require_password",
    "with_password",
    "write_redis_conf",
]


@dataclass(frozen=True)
class RedisTls:
    """A secured Redis: TLS only (no plaintext port), client certificates required, and
    one ACL user (the ``default`` user has a password nobody knows: see
    :func:`render_redis_conf`)."""

    cert: Path
    key: Path
    ca_cert: Path
    user: str


def render_redis_conf(
    *,
    port: int,
    home: Path,
    password: str | None = None,
    tls: RedisTls | None = None,
    maxmemory: str | None = None,
) -> str:
    """A ``redis.conf`` on loopback with append-only persistence (checkpoints live here).

    With ``password`` every client must authenticate (``requirepass``). With ``tls`` the
    port speaks TLS only and the password is ``tls.user``'s; the file then holds only the
    password's SHA-256, as ACL rules do. With ``maxmemory`` Redis holds at most that much,
    refusing writes beyond it (``noeviction``: nothing is evicted, checkpoints least of all).

    >>> text = render_redis_conf(port=6380, home=Path("/s/redis"), password="pw")
    >>> "port 6380" in text, "requirepass pw" in text
    (True, True)
    >>> tls = RedisTls(Path("/t/s.crt"), Path("/t/s.key"), Path("/t/ca.crt"), "app")
    >>> text = render_redis_conf(port=6380, home=Path("/s/redis"), password="pw", tls=tls)
    >>> "port 0" in text, "tls-port 6380" in text, "user default on #" in text, "pw" in text
    (True, True, True, False)
    >>> limited = render_redis_conf(port=6380, home=Path("/s/redis"), maxmemory="64mb")
    >>> "maxmemory 64mb" in limited, "maxmemory-policy noeviction" in limited
    (True, True)
    """
    auth = [f"requirepass {password}"] if password else []
    listen = [f"port {port}"]
    if tls is not None:
        if not password:
            raise StackError("a secured Redis needs a password for its ACL user")
        digest = hashlib.sha256(password.encode()).hexdigest()
        listen = [
            "port 0",  # no plaintext port at all
            f"tls-port {port}",
            f"tls-cert-file {tls.cert}",
            f"tls-key-file {tls.key}",
            f"tls-ca-cert-file {tls.ca_cert}",
            "tls-auth-clients yes",
            'tls-protocols "TLSv1.2 TLSv1.3"',
        ]
        # every key and channel, every command but server administration
        rights = "~* &* +@all -@admin"
        auth = [
            # The default user is not switched off: Redis runs the append-only file's
            # commands as it when it starts, and up to 7.2 an EXEC there re-checks its
            # rights, so with it off every MULTI/EXEC and script of the file since its last
            # rewrite is dropped, silently (redis/redis#14541, valkey#3983; Debian's 7.0.15
            # has it). It keeps the rights, with a password nobody knows: its hash only.
            f"user default on #{hashlib.sha256(secrets.token_bytes(32)).hexdigest()} {rights}",
            f"user {tls.user} on #{digest} {rights}",
        ]
    return "\n".join(
        [
            "# written by driftline",
            "bind 127.0.0.1",
            *listen,
            "protected-mode yes",
            "daemonize no",
            f"dir {home}",
            f"logfile {home / 'redis.log'}",
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            *([f"maxmemory {maxmemory}", "maxmemory-policy noeviction"] if maxmemory else []),
            *auth,
            "",
        ]
    )


def write_redis_conf(
    path: Path,
    *,
    port: int,
    home: Path,
    password: str | None,
    tls: RedisTls | None = None,
    maxmemory: str | None = None,
) -> None:
    """Write the config to ``path``, readable by its owner only: it holds the password."""
    text = render_redis_conf(port=port, home=home, password=password, tls=tls, maxmemory=maxmemory)
    write_private(path, text)


def redis_command(conf: Path, port: int, *, tls: bool = False) -> list[str]:
    """The command that runs ``redis-server`` with ``conf`` (the port repeated, so it shows)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError(
            "redis-server is not installed; 'make setup' installs it (Debian: "
            "apt-get install redis-server), or set DRIFTLINE_REDIS_URL to an existing Redis"
        )
    if tls:
        return [binary, str(conf), "--port", "0", "--tls-port", str(port)]
    return [binary, str(conf), "--port", str(port)]


def secured_url(url: str, password: str, tls: RedisTls, client_cert: Path, client_key: Path) -> str:
    """The ``rediss://`` URL of ``tls.user`` with ``password`` and the TLS files a client
    needs, as query parameters redis-py reads.

    >>> tls = RedisTls(Path("/t/s.crt"), Path("/t/s.key"), Path("/t/ca.crt"), "app")
    >>> secured_url("rediss://app@127.0.0.1:6390/0", "p/w", tls, Path("/t/c.crt"),
    ...             Path("/t/c.key"))  # doctest: +NORMALIZE_WHITESPACE
    'rediss://app:p%2Fw@127.0.0.1:6390/0?ssl_ca_certs=%2Ft%2Fca.crt&ssl_certfile=%2Ft%2Fc.crt&ssl_keyfile=%2Ft%2Fc.key'
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(tls.user, safe='')}:{quote(password, safe='')}@{host}"
    query = urlencode(
        {"ssl_ca_certs": tls.ca_cert, "ssl_certfile": client_cert, "ssl_keyfile": client_key}
    )
    return urlunsplit(parts._replace(scheme="rediss", netloc=netloc, query=query))


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
