"""One settings object, read once at the entry point, grouped by concern.

Every option comes from a ``DRIFTLINE_*`` environment variable, a ``.env`` file or a TOML
config file (:meth:`Settings.from_file`, ``DRIFTLINE_CONFIG``; the environment wins) and
lands in one typed, frozen group: :class:`KafkaSettings`, :class:`RedisSettings`,
:class:`StackSettings`, :class:`ModelSettings` (model, features, quality rules, state
bounds), :class:`WorkerSettings`, :class:`CheckpointSettings` and
:class:`SchemaRegistrySettings`, each in a module of its own. Each consumer of settings
takes only its group; nothing deeper reads the environment.
The variable names are flat and stable (``DRIFTLINE_PARTITIONS``,
``DRIFTLINE_CHECKPOINT_EVERY``...): each group says which of them it owns
(:func:`variable_names`), and the same flat names are accepted as keyword overrides.

>>> s = Settings(namespace="demo", _env_file=None)
>>> s.topics.events, s.topics.dead_letter
('demo.events', 'demo.dead-letter')
>>> s.kafka.partitions, s.checkpoints.every, s.model.task_config(s.seed).seed
(3, 5000, 42)
>>> s.with_overrides(partitions=6, checkpoint_every=10).kafka.partitions
6
>>> s.masked()["redis"]["url"] is None
True
"""

from __future__ import annotations

from driftline.adapters.settings.checkpoint import CheckpointSettings
from driftline.adapters.settings.config_file import CONFIG_VARIABLE, read_config_file
from driftline.adapters.settings.config_text import (
    ConfigFormat,
    config_env,
    config_json,
    config_text,
    config_toml,
)
from driftline.adapters.settings.flat import variable_names
from driftline.adapters.settings.kafka import SASL_MECHANISMS, KafkaSettings
from driftline.adapters.settings.model import DEFAULT_MODEL, ModelSettings
from driftline.adapters.settings.redis import RedisSettings
from driftline.adapters.settings.root import Settings, TopicNames
from driftline.adapters.settings.schema_registry import SchemaRegistrySettings
from driftline.adapters.settings.secret_text import mask_text, mask_url, read_private_file
from driftline.adapters.settings.stack import (
    STACK_SASL_MECHANISM,
    STACK_USER,
    StackClientFiles,
    StackSettings,
)
from driftline.adapters.settings.unknown_variables import known_variables, unknown_variables
from driftline.adapters.settings.worker import WorkerSettings

__all__ = [
    "CONFIG_VARIABLE",
    "DEFAULT_MODEL",
    "SASL_MECHANISMS",
    "STACK_SASL_MECHANISM",
    "STACK_USER",
    "CheckpointSettings",
    "ConfigFormat",
    "KafkaSettings",
    "ModelSettings",
    "RedisSettings",
    "SchemaRegistrySettings",
    "Settings",
    "StackClientFiles",
    "StackSettings",
    "TopicNames",
    "WorkerSettings",
    "config_env",
    "config_json",
    "config_text",
    "config_toml",
    "known_variables",
    "mask_text",
    "mask_url",
    "read_config_file",
    "read_private_file",
    "unknown_variables",
    "variable_names",
]
