"""The one settings object: every group, the namespace and the seed, read once from the
``DRIFTLINE_*`` variables, an optional ``.env`` file (see :mod:`.flat`) and an optional
config file (see :mod:`.config_file`), in that order of precedence (:mod:`.layers`)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from driftline.adapters.settings.checkpoint import CheckpointSettings
from driftline.adapters.settings.config_file import ConfigFileSource, config_file_given
from driftline.adapters.settings.config_text import config_json
from driftline.adapters.settings.core_fields import core_field
from driftline.adapters.settings.flat import (
    FLAT,
    GROUPS,
    FlatVariables,
    is_flat,
    nest,
    sources_off,
    without_sources,
)
from driftline.adapters.settings.group import PREFIX
from driftline.adapters.settings.kafka import KafkaSettings
from driftline.adapters.settings.layers import Layers
from driftline.adapters.settings.model import ModelSettings
from driftline.adapters.settings.redis import RedisSettings
from driftline.adapters.settings.schema_registry import SchemaRegistrySettings
from driftline.adapters.settings.stack import StackSettings
from driftline.adapters.settings.unknown_variables import warn_unknown_variables
from driftline.adapters.settings.worker import WorkerSettings
from driftline.core.errors import ConfigError
from driftline.core.task.config import TaskConfig

__all__ = ["Settings", "TopicNames"]

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
    def alerts(self) -> str:
        """Drift alarms, promotions and rollbacks, as JSON keyed by alert id."""
        return f"{self.namespace}.alerts"

    @property
    def consumer_group(self) -> str:
        return f"{self.namespace}.workers"

    @property
    def redis_prefix(self) -> str:
        return f"{self.namespace}:"


class Settings(BaseSettings):
    """Every driftline setting, grouped. Environment: ``DRIFTLINE_<NAME>``, case-insensitive.

    Keyword arguments take the groups (``kafka={"bootstrap": ...}``) or the flat names of
    the variables (``kafka_bootstrap=...``, ``checkpoint_every=...``). ``_config_file``: a
    TOML file of settings in groups (``None``: the file ``DRIFTLINE_CONFIG`` names, if
    any); keywords win over the environment, the environment over the file.
    """

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    namespace: str = Field("driftline", description="prefix of topics, groups and Redis keys")
    seed: int = core_field(
        "seed", description="seed of every random choice (replay delays, models)"
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    stack: StackSettings = Field(default_factory=StackSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    checkpoints: CheckpointSettings = Field(default_factory=CheckpointSettings)
    schema_registry: SchemaRegistrySettings = Field(default_factory=SchemaRegistrySettings)

    def __init__(self, *, _config_file: str | os.PathLike[str] | None = None, **values: Any):
        flat = {k: values.pop(k) for k in list(values) if is_flat(k, values[k])}
        for group, fields in nest(flat, decode=False).items():
            given = values.get(group)
            if isinstance(given, BaseModel):
                given = given.model_dump()
            values[group] = (given or {}) | fields
        with config_file_given(_config_file):
            super().__init__(**values)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **overrides: Any) -> Settings:
        """The settings of the config file ``path`` (TOML, in the groups ``driftline
        config`` prints), under the environment and ``overrides`` (flat names or groups).

        >>> import tempfile
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "driftline.toml"
        >>> _ = path.write_text('namespace = "loans"\\n[checkpoints]\\nevery = 10\\n')
        >>> s = Settings.from_file(path, _env_file=None, partitions=6)
        >>> s.namespace, s.checkpoints.every, s.kafka.partitions
        ('loans', 10, 6)
        """
        return cls(_config_file=path, **overrides)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if sources_off():
            return (init_settings,)
        variables = [*_names(env_settings), *_names(dotenv_settings)]
        warn_unknown_variables(variables)
        layers = (
            init_settings,
            FlatVariables(settings_cls, env_settings),
            FlatVariables(settings_cls, dotenv_settings),
            ConfigFileSource(settings_cls),
        )
        return (Layers(settings_cls, layers),)

    @model_validator(mode="before")
    @classmethod
    def _secured_stack_clients(cls, data: Any) -> Any:
        """With ``DRIFTLINE_STACK_SECURE`` and no bootstrap servers of its own, Kafka is
        the secured local stack: its clients get the stack's TLS files and SCRAM user
        (unless the Kafka settings name a security protocol themselves)."""
        if not isinstance(data, dict) or "stack" not in data:
            return data
        stack = data["stack"]
        try:
            stack = stack if isinstance(stack, StackSettings) else StackSettings(**stack)
        except (TypeError, ValueError):
            return data  # the stack group's own validation reports it
        kafka = data.get("kafka") or {}
        if isinstance(kafka, BaseModel):
            kafka = kafka.model_dump()
        if not stack.secure or not isinstance(kafka, dict) or kafka.get("bootstrap"):
            return data
        if kafka.get("security_protocol", "PLAINTEXT") != "PLAINTEXT":
            return data
        try:
            secured = stack.secured_kafka(KafkaSettings(**kafka))
        except (TypeError, ValueError):
            return data  # the Kafka group's own validation reports it
        return data | {"kafka": secured.model_dump()}

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

    def task_config(self) -> TaskConfig:
        """What each task computes: the model group with the seed."""
        return self.model.task_config(self.seed)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with overrides by flat name (``None`` values are ignored), validated.

        Root fields and whole groups are accepted too (a group's mapping updates it, a
        group's model replaces it). Neither the environment nor a ``.env`` file is read
        again; an unknown name is a :class:`ConfigError`, whatever its value.
        """
        fields = type(self).model_fields
        unknown = [k for k in changes if k not in fields and k.lower() not in FLAT]
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        update = {k: v for k, v in changes.items() if v is not None}
        if not update:
            return self
        current = self.model_dump()
        flat = {k: update.pop(k) for k in list(update) if is_flat(k, update[k])}
        for name, value in update.items():  # root fields and whole groups
            if isinstance(value, BaseModel):
                value = value.model_dump()
            elif name in GROUPS and isinstance(value, Mapping):
                value = current[name] | dict(value)
            current[name] = value
        for group, values in nest(flat, decode=False).items():
            current[group] = current[group] | values
        # a custom __init__ makes model_validate run the settings sources: turn them off
        with without_sources():
            return type(self).model_validate(current)

    def secret_values(self) -> list[str]:
        """The text of every secret set (passwords, keys, a URL's password): what logs
        must never show (a password read from a ``*_file`` is not known before use)."""
        found = []
        for group in GROUPS:
            values = getattr(self, group)
            for name in type(values).secrets():
                secret = getattr(values, name)
                text = secret.get_secret_value() if secret is not None else ""
                found.append(urlsplit(text).password or "" if name == "url" else text)
        return [text for text in found if text]

    def masked(self) -> dict[str, Any]:
        """The effective settings, grouped, every secret masked: fit to print or log."""
        return config_json(self)


def _names(source: PydanticBaseSettingsSource) -> list[str]:
    """The variables a source has loaded (the environment's, a ``.env`` file's)."""
    return list(getattr(source, "env_vars", {}))
