"""One settings object, read once at the entry point.

Every option can come from a ``DRIFTLINE_*`` environment variable or a ``.env`` file;
the command line overrides a few (``--namespace`` ...). The frozen :class:`Settings` is
passed down; nothing deeper reads the environment.

>>> s = Settings(namespace="demo", _env_file=None)
>>> s.topics.events, s.topics.dead_letter
('demo.events', 'demo.dead-letter')
>>> s.masked()["redis_url"] is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_MODEL", "KafkaConfig", "Settings", "StackConfig", "TopicNames", "mask_url"]

#: The default model: numbers scaled, text one-hot encoded, a logistic regression on both.
#: (Scaling one-hot columns would zero them: a column present only as 1 has no variance.)
DEFAULT_MODEL = (
    "(compose.SelectType(float, int) | preprocessing.StandardScaler())"
    " + (compose.SelectType(str) | preprocessing.OneHotEncoder())"
    " | linear_model.LogisticRegression(optimizer=optim.SGD(0.005))"
)

_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class TopicNames:
    """Names derived from a namespace: topics, consumer group and Redis key prefix."""

    namespace: str

    @property
    def events(self) -> str:
        return f"{self.namespace}.events"

    @property
    def dead_letter(self) -> str:
        return f"{self.namespace}.dead-letter"

    @property
    def consumer_group(self) -> str:
        return f"{self.namespace}.workers"

    @property
    def redis_prefix(self) -> str:
        return f"{self.namespace}:"


@dataclass(frozen=True)
class KafkaConfig:
    """What a Kafka client needs; made by :meth:`Settings.kafka`."""

    bootstrap: str
    client_id: str
    security_protocol: str
    sasl_mechanism: str | None
    sasl_username: str | None
    sasl_password: SecretStr | None
    request_timeout_ms: int


@dataclass(frozen=True)
class StackConfig:
    """Where and how the local stack runs."""

    home: Path
    cache_dir: Path
    kafka_version: str
    kafka_heap: str
    brokers: int
    start_timeout_s: float


class Settings(BaseSettings):
    """Every driftline setting. Environment: ``DRIFTLINE_<FIELD>`` (case-insensitive)."""

    model_config = SettingsConfigDict(
        env_prefix="DRIFTLINE_", env_file=".env", extra="ignore", frozen=True
    )

    namespace: str = Field("driftline", description="prefix of topics, groups and Redis keys")
    kafka_bootstrap: str | None = Field(
        None, description="existing cluster, e.g. 'host1:9092,host2:9092'; unset: local stack"
    )
    redis_url: SecretStr | None = Field(
        None, description="existing Redis, e.g. 'redis://:pw@host:6379/0'; unset: local stack"
    )
    kafka_client_id: str = "driftline"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_request_timeout_ms: int = Field(30_000, ge=1_000)

    partitions: int = Field(3, ge=1, le=1024, description="partitions of new topics")
    replication_factor: int = Field(
        -1, description="replication of new topics; -1 takes min(3, brokers)"
    )
    topic_retention_ms: int = Field(7 * 24 * 3600 * 1000, ge=-1)

    stack_home: Path = Field(Path(".driftline"), description="local stack's logs, data, state")
    cache_dir: Path = Field(
        Path.home() / ".cache" / "driftline", description="Kafka jars fetched by Maven"
    )
    kafka_version: str = Field("4.1.1", pattern=r"^4\.\d+\.\d+$")
    kafka_heap: str = Field("768m", pattern=r"^\d+[mMgG]$")
    brokers: int = Field(1, ge=1, le=5)
    stack_start_timeout_s: float = Field(120.0, gt=0)

    seed: int = Field(42, description="seed of every random choice (replay delays, models)")

    model: str = Field(
        DEFAULT_MODEL,
        description="River expression (River's modules in scope, and seed) or module:factory",
    )
    raw_features: bool = Field(False, description="pass raw features through untouched")
    calendar_features: bool = True
    lateness_feature: bool = True
    history_groups: tuple[str, ...] = Field(
        ("key",), description="segments whose recent label rate is a feature ('key': entity)"
    )
    history_alpha: float = Field(0.2, gt=0, le=1)
    pending_ttl_s: float = Field(7 * 24 * 3600.0, gt=0, description="event-time TTL of pending")
    allowed_lateness_s: float = Field(0.0, ge=0)
    max_future_s: float = Field(300.0, ge=0, description="event time ahead of ingest allowed")
    max_age_s: float | None = Field(None, gt=0, description="event time behind ingest allowed")
    feature_bounds: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description='JSON, e.g. {"distance": [0, 6000]}'
    )
    dedupe_size: int = Field(200_000, ge=1)
    rolling_window: int = Field(1000, ge=1)
    prediction_ttl_s: float = Field(7 * 24 * 3600.0, ge=0, description="0: keep for ever")
    stream_maxlen: int = Field(100_000, ge=1)
    max_poll_records: int = Field(2000, ge=1)
    idle_watermark_s: float | None = Field(60.0, gt=0)

    session_timeout_ms: int = Field(
        10_000, ge=6_000, description="how long a silent worker keeps its partitions"
    )

    checkpoint_every: int = Field(5000, ge=1, description="records between checkpoints")
    checkpoint_interval_s: float = Field(10.0, gt=0, description="seconds between checkpoints")
    checkpoint_store: Literal["redis", "directory"] = "redis"
    checkpoint_dir: Path = Field(Path(".driftline/checkpoints"))
    checkpoint_key: SecretStr | None = Field(
        None, description="HMAC key of checkpoints (>= 16 bytes); unset: a development key"
    )

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str) -> str:
        if not _NAMESPACE.match(value):
            raise ValueError(
                "namespace must be 1-64 characters of letters, digits, '_' or '-', "
                f"starting with a letter or digit; got {value!r}"
            )
        return value

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.namespace)

    @property
    def stack(self) -> StackConfig:
        return StackConfig(
            home=self.stack_home.expanduser().resolve(),
            cache_dir=self.cache_dir.expanduser().resolve(),
            kafka_version=self.kafka_version,
            kafka_heap=self.kafka_heap,
            brokers=self.brokers,
            start_timeout_s=self.stack_start_timeout_s,
        )

    def kafka(self, bootstrap: str) -> KafkaConfig:
        """The Kafka client config for ``bootstrap`` (resolved by the caller)."""
        return KafkaConfig(
            bootstrap=bootstrap,
            client_id=self.kafka_client_id,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=self.kafka_sasl_password,
            request_timeout_ms=self.kafka_request_timeout_ms,
        )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with command-line overrides applied (``None`` values are ignored)."""
        update = {k: v for k, v in changes.items() if v is not None}
        if not update:
            return self
        merged = self.model_dump() | update
        return type(self).model_validate(merged)

    def masked(self) -> dict[str, Any]:
        """The effective settings with every secret masked, fit to print or log."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name == "redis_url":
                shown[name] = mask_url(value.get_secret_value()) if value else None
            elif isinstance(value, SecretStr):
                shown[name] = "***" if value.get_secret_value() else None
            elif isinstance(value, tuple):
                shown[name] = list(value)
            elif isinstance(value, Path):
                shown[name] = str(value)
            else:
                shown[name] = value
        return shown


_SECRET_QUERY = re.compile(r"(?i)((?:^|&)(?:password|pass|pwd|token|secret)=)[^&]*")


def mask_url(url: str) -> str:
    """Hide the password of a URL, in its user part and in its query string.

    >>> mask_url("redis://user:hunter2@cache:6379/0")
    'redis://user:***@cache:6379/0'
    >>> mask_url("redis://cache:6379/0?password=hunter2&db=1")
    'redis://cache:6379/0?password=***&db=1'
    >>> mask_url("redis://127.0.0.1:6379/0")
    'redis://127.0.0.1:6379/0'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}"
    query = _SECRET_QUERY.sub(r"\1***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))
