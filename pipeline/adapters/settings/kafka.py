"""How clients reach Kafka (``DRIFTLINE_KAFKA_*``), and how new topics are made."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from driftline.adapters.settings.group import SettingsGroup
from driftline.adapters.settings.secret_text import read_private_file

__all__ = ["SASL_MECHANISMS", "KafkaSettings"]

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSettings(SettingsGroup):
    """How clients reach Kafka, and how new topics are made."""

    prefix: ClassVar[str] = "kafka_"
    env: ClassVar[Mapping[str, str]] = {
        "partitions": "partitions",
        "replication_factor": "replication_factor",
        "retention_ms": "topic_retention_ms",
    }

    bootstrap: str | None = Field(
        None, description="existing cluster, e.g. 'host1:9092,host2:9092'; unset: local stack"
    )
    client_id: str = "driftline"
    client: Literal["kafka-python", "confluent"] = Field(
        "kafka-python",
        description="Kafka client library: kafka-python, or confluent-kafka (driftline[fast])",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = Field(
        None, description="a file holding the SASL password (owner-only), read at use"
    )
    ssl_cafile: Path | None = Field(
        None, description="CA certificates (PEM) of the brokers; unset: the system's"
    )
    ssl_certfile: Path | None = Field(None, description="client certificate (PEM), for mutual TLS")
    ssl_keyfile: Path | None = Field(None, description="the client certificate's key (PEM)")
    ssl_password: SecretStr | None = Field(None, description="password of an encrypted ssl_keyfile")
    request_timeout_ms: int = Field(30_000, ge=1_000)
    partitions: int = Field(3, ge=1, le=1024, description="partitions of new topics")
    replication_factor: int = Field(
        -1, description="replication of new topics; -1 takes min(3, brokers)"
    )
    retention_ms: int = Field(7 * 24 * 3600 * 1000, ge=-1)
    timestamps: Literal["broker", "replay"] = Field(
        "broker",
        description="the ingest clock of new events topics: the broker's append time "
        "(cannot be forged), or a replay's scheduled arrival (the same lateness on a busy "
        "machine as on a quiet one; for rebased replays such as the demo)",
    )

    def at(self, bootstrap: str) -> KafkaSettings:
        """These settings pointed at ``bootstrap`` (resolved by the caller)."""
        return self.model_copy(update={"bootstrap": bootstrap})

    @field_validator("sasl_mechanism")
    @classmethod
    def _check_mechanism(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        mechanism = value.strip().upper()
        if mechanism not in SASL_MECHANISMS:
            raise ValueError(f"SASL mechanism must be one of {', '.join(SASL_MECHANISMS)}")
        return mechanism

    @model_validator(mode="after")
    def _one_password(self) -> KafkaSettings:
        if self.sasl_password is not None and self.sasl_password_file is not None:
            raise ValueError(
                "set DRIFTLINE_KAFKA_SASL_PASSWORD or DRIFTLINE_KAFKA_SASL_PASSWORD_FILE, not both"
            )
        return self

    def sasl_password_text(self) -> str | None:
        """The SASL password: the setting, else the file's text (read now, owner-only).

        >>> KafkaSettings(sasl_password="pw").sasl_password_text()
        'pw'
        >>> KafkaSettings().sasl_password_text() is None
        True
        """
        if self.sasl_password is not None:
            return self.sasl_password.get_secret_value()
        if self.sasl_password_file is not None:
            return read_private_file(self.sasl_password_file, "DRIFTLINE_KAFKA_SASL_PASSWORD_FILE")
        return None
