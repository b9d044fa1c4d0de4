"""Where the schema registry is (``DRIFTLINE_SCHEMA_REGISTRY_*``): a Confluent-compatible
one (Confluent's, Apicurio's ``/apis/ccompat/v6``, Karapace...), the user's own or the local
stack's (``driftline stack up --registry``).

Unset, driftline's own records keep fixed schema ids (a local-only mode, see
:mod:`driftline.core.events.codec`) and Avro through a registry cannot be read.

>>> s = SchemaRegistrySettings(url="https://sr.example:8081", username="svc", password="pw")
>>> s.url, s.auth()
('https://sr.example:8081', ('svc', 'pw'))
>>> SchemaRegistrySettings().auth() is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from driftline.adapters.settings.group import SettingsGroup
from driftline.adapters.settings.secret_text import mask_url

__all__ = ["SchemaRegistrySettings"]


class SchemaRegistrySettings(SettingsGroup):
    """A Confluent-compatible schema registry, and its basic-auth user (optional)."""

    prefix: ClassVar[str] = "schema_registry_"
    env: ClassVar[Mapping[str, str]] = {}

    url: str | None = Field(
        None,
        description="Confluent-compatible registry, e.g. 'http://127.0.0.1:8081' (Apicurio: "
        "'<base>/apis/ccompat/v6'); unset: the local stack's when it runs one, else none",
    )
    username: str | None = Field(None, description="basic-auth user of the registry")
    password: SecretStr | None = Field(
        None, description="basic-auth password of the registry, never printed"
    )
    timeout_s: float = Field(10.0, gt=0, description="seconds a registry request may take")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http:// or https:// URL, got {mask_url(value)!r}")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "must not carry a user or password (it would be printed): set "
                "DRIFTLINE_SCHEMA_REGISTRY_USERNAME and DRIFTLINE_SCHEMA_REGISTRY_PASSWORD"
            )
        return value

    def auth(self) -> tuple[str, str] | None:
        """``(user, password)`` for basic auth, ``None`` without a user."""
        if not self.username:
            return None
        secret = self.password.get_secret_value() if self.password else ""
        return self.username, secret
