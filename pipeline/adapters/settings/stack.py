"""Where and how the local stack runs (``DRIFTLINE_STACK_*``), and what the clients of a
secured one use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from driftline.adapters.settings.group import SettingsGroup
from driftline.adapters.settings.kafka import KafkaSettings

__all__ = ["STACK_SASL_MECHANISM", "STACK_USER", "StackClientFiles", "StackSettings"]

#: The user driftline's clients are on a secured local stack (Kafka SCRAM and Redis ACL).
STACK_USER = "driftline"
STACK_SASL_MECHANISM = "SCRAM-SHA-512"


class StackSettings(SettingsGroup):
    """Where and how the local stack runs (paths are made absolute when read)."""

    prefix: ClassVar[str] = "stack_"
    env: ClassVar[Mapping[str, str]] = {
        "cache_dir": "cache_dir",
        "kafka_version": "kafka_version",
        "kafka_heap": "kafka_heap",
        "brokers": "brokers",
    }

    # validate_default: the defaults are made absolute too
    home: Path = Field(
        Path(".driftline"), validate_default=True, description="local stack's logs, data, state"
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "driftline",
        validate_default=True,
        description="Kafka jars fetched by Maven",
    )
    kafka_version: str = Field("4.1.1", pattern=r"^4\.\d+\.\d+$")
    kafka_heap: str = Field("768m", pattern=r"^\d+[mMgG]$")
    brokers: int = Field(1, ge=1, le=5)
    start_timeout_s: float = Field(120.0, gt=0)
    secure: bool = Field(
        False, description="TLS + SCRAM Kafka, TLS + ACL Redis ('driftline stack up --secure')"
    )
    redis_maxmemory: str | None = Field(
        None,
        pattern=r"^\d+(b|kb|mb|gb)?$",
        description="the stack's Redis memory limit, with noeviction (unset: none)",
    )

    @field_validator("home", "cache_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def client_files(self) -> StackClientFiles:
        """Where the secured stack keeps what its clients need."""
        return StackClientFiles(self.home / "secrets")

    def secured_kafka(self, kafka: KafkaSettings) -> KafkaSettings:
        """``kafka`` as a client of this secured stack: SASL_SSL, SCRAM-SHA-512 as the
        stack's user, mutual TLS with the stack's client certificate. What ``kafka``
        already sets of the TLS files is kept."""
        files = self.client_files
        return kafka.model_copy(
            update={
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": STACK_SASL_MECHANISM,
                "sasl_username": STACK_USER,
                "sasl_password": None,
                "sasl_password_file": files.kafka_password,
                "ssl_cafile": kafka.ssl_cafile or files.ca_cert,
                "ssl_certfile": kafka.ssl_certfile or files.client_cert,
                "ssl_keyfile": kafka.ssl_keyfile or files.client_key,
            }
        )


@dataclass(frozen=True)
class StackClientFiles:
    """What clients of a secured local stack use, under its ``secrets/`` folder (0700).

    >>> StackClientFiles(Path("/h/secrets")).ca_cert.as_posix()
    '/h/secrets/tls/ca.crt'
    """

    secrets_dir: Path

    @property
    def tls_dir(self) -> Path:
        return self.secrets_dir / "tls"

    @property
    def ca_cert(self) -> Path:
        return self.tls_dir / "ca.crt"

    @property
    def client_cert(self) -> Path:
        return self.tls_dir / "client.crt"

    @property
    def client_key(self) -> Path:
        return self.tls_dir / "client.key"

    @property
    def kafka_password(self) -> Path:
        """The SCRAM password of :data:`STACK_USER`."""
        return self.secrets_dir / "kafka.password"

    @property
    def redis_password(self) -> Path:
        """The password of :data:`STACK_USER` (Redis ACL; ``requirepass`` when not secured)."""
        return self.secrets_dir / "redis.password"
