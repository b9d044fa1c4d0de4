"""Where Redis is (``DRIFTLINE_REDIS_*``), and how long what the worker writes there is
kept."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr

from driftline.adapters.settings.group import SettingsGroup
from driftline.adapters.settings.secret_text import read_private_file
from driftline.core.errors import ConfigError

__all__ = ["RedisSettings"]


class RedisSettings(SettingsGroup):
    """Where Redis is, and how long what the worker writes there is kept."""

    prefix: ClassVar[str] = "redis_"
    env: ClassVar[Mapping[str, str]] = {
        "prediction_ttl_s": "prediction_ttl_s",
        "stream_maxlen": "stream_maxlen",
        "series_windows_kept": "series_windows_kept",
        "alerts_maxlen": "alerts_maxlen",
        "quality_log_maxlen": "quality_log_maxlen",
    }

    url: SecretStr | None = Field(
        None, description="existing Redis, e.g. 'redis://:pw@host:6379/0'; unset: local stack"
    )
    timeout_s: float = Field(
        30.0, gt=0, description="seconds a Redis command may go unanswered before a retry"
    )
    prediction_ttl_s: float = Field(7 * 24 * 3600.0, ge=0, description="0: keep for ever")
    stream_maxlen: int = Field(100_000, ge=1)
    series_windows_kept: int = Field(
        1000, ge=1, description="windows of each length kept in the metrics time series"
    )
    alerts_maxlen: int = Field(10_000, ge=1, description="alerts kept in the alerts stream")
    quality_log_maxlen: int = Field(
        100_000, ge=1, description="data-quality findings kept in the quality log stream"
    )
    password_file: Path | None = Field(
        None, description="a file holding the password of the URL's user (owner-only)"
    )
    ssl_ca_file: Path | None = Field(
        None, description="CA certificates (PEM) of a rediss:// server; unset: the system's"
    )
    ssl_certfile: Path | None = Field(None, description="client certificate (PEM), for mutual TLS")
    ssl_keyfile: Path | None = Field(None, description="the client certificate's key (PEM)")

    def client_url(self, url: str) -> str:
        """``url`` with what these settings add: the password from ``password_file`` (read
        now, owner-only; a password in the URL wins) and the TLS files as the query
        parameters redis-py reads (``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``).

        >>> RedisSettings(ssl_ca_file="/s/ca.crt").client_url("rediss://app@cache:6380/0")
        'rediss://app@cache:6380/0?ssl_ca_certs=%2Fs%2Fca.crt'
        >>> RedisSettings().client_url("redis://cache:6379/0")
        'redis://cache:6379/0'
        """
        files = {
            "ssl_ca_certs": self.ssl_ca_file,
            "ssl_certfile": self.ssl_certfile,
            "ssl_keyfile": self.ssl_keyfile,
        }
        given = {name: str(path) for name, path in files.items() if path is not None}
        parts = urlsplit(url)
        if given and parts.scheme != "rediss":
            raise ConfigError(
                "DRIFTLINE_REDIS_SSL_CA_FILE, _SSL_CERTFILE and _SSL_KEYFILE need a rediss:// "
                f"URL, not {parts.scheme}://"
            )
        netloc = parts.netloc
        if self.password_file is not None and parts.password is None:
            password = read_private_file(self.password_file, "DRIFTLINE_REDIS_PASSWORD_FILE")
            user = quote(parts.username or "", safe="")
            netloc = f"{user}:{quote(password, safe='')}@{netloc.rpartition('@')[2]}"
        query = urlencode([*parse_qsl(parts.query), *given.items()])
        return urlunsplit(parts._replace(netloc=netloc, query=query))
