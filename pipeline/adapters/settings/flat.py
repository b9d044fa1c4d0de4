"""The flat variables: each group's fields by their ``DRIFTLINE_*`` names, and the
settings source that reads them from the environment or a ``.env`` file into groups.

>>> nest({"partitions": 6, "checkpoint_every": 10, "unknown": 1}, decode=False)
{'kafka': {'partitions': 6}, 'checkpoints': {'every': 10}}
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from driftline.adapters.settings.checkpoint import CheckpointSettings
from driftline.adapters.settings.group import PREFIX, SettingsGroup
from driftline.adapters.settings.kafka import KafkaSettings
from driftline.adapters.settings.model import ModelSettings
from driftline.adapters.settings.redis import RedisSettings
from driftline.adapters.settings.schema_registry import SchemaRegistrySettings
from driftline.adapters.settings.stack import StackSettings
from driftline.adapters.settings.worker import WorkerSettings
from driftline.core.errors import ConfigError

__all__ = [
    "FLAT",
    "GROUPS",
    "FlatVariables",
    "is_flat",
    "nest",
    "sources_off",
    "variable_names",
    "without_sources",
]

#: The groups, by the name of the root field that holds each.
GROUPS: dict[str, type[SettingsGroup]] = {
    "kafka": KafkaSettings,
    "redis": RedisSettings,
    "stack": StackSettings,
    "model": ModelSettings,
    "worker": WorkerSettings,
    "checkpoints": CheckpointSettings,
    "schema_registry": SchemaRegistrySettings,
}
#: Flat name (the variable without ``DRIFTLINE_``, lower case) -> (group, field).
FLAT: dict[str, tuple[str, str]] = {
    flat: (group, name) for group, cls in GROUPS.items() for name, flat in cls.variables().items()
}


def variable_names() -> dict[str, str]:
    """Every grouped setting (``group.field``) and its environment variable.

    >>> variable_names()["checkpoints.every"]
    'DRIFTLINE_CHECKPOINT_EVERY'
    """
    return {f"{group}.{name}": f"{PREFIX}{flat.upper()}" for flat, (group, name) in FLAT.items()}


def nest(flat: Mapping[str, Any], *, decode: bool) -> dict[str, Any]:
    """Flat names (as variables say them) into group dicts; unknown names are left out.

    With ``decode`` (values read from variables) a ``None`` (a bare ``NAME`` line in a
    ``.env`` file) is left out too; an explicit keyword ``None`` is kept.
    """
    nested: dict[str, Any] = {}
    for raw_name, value in flat.items():
        target = FLAT.get(raw_name.lower())
        if target is None or (decode and value is None):
            continue
        group, name = target
        if decode and isinstance(value, str):
            value = _decode(GROUPS[group], name, value)
        nested.setdefault(group, {})[name] = value
    return nested


def is_flat(name: str, value: Any) -> bool:
    """Whether a keyword is a flat variable name (``model`` is both a group and a name)."""
    if name in GROUPS and isinstance(value, Mapping | BaseModel):
        return False
    return name.lower() in FLAT


def _decode(group: type[SettingsGroup], name: str, text: str) -> Any:
    """A variable's text: JSON for the structured settings, as it is for the rest."""
    annotation = str(group.model_fields[name].annotation)
    if not annotation.startswith(("dict", "tuple", "list")):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        variable = f"{PREFIX}{group.variables()[name].upper()}"
        raise ConfigError(f"{variable} is not valid JSON ({exc.msg}): {text[:60]!r}") from exc


#: Set while :meth:`Settings.with_overrides` validates: no variable or file is read then.
_SOURCES_OFF: ContextVar[bool] = ContextVar("driftline_settings_sources_off", default=False)


@contextmanager
def without_sources() -> Iterator[None]:
    token = _SOURCES_OFF.set(True)
    try:
        yield
    finally:
        _SOURCES_OFF.reset(token)


class FlatVariables(PydanticBaseSettingsSource):
    """Reads every setting from the flat variables another source has loaded: the root
    fields (``DRIFTLINE_NAMESPACE``, ``DRIFTLINE_SEED``) as they are, the rest into their
    groups. It replaces pydantic-settings' own reading, which would take a group name for
    a variable of its own (``DRIFTLINE_MODEL`` would be parsed as JSON for ``model``)."""

    def __init__(self, settings_cls: type[BaseSettings], loaded: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._loaded = loaded

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ answers for the whole model

    def __call__(self) -> dict[str, Any]:
        variables: Mapping[str, str | None] = getattr(self._loaded, "env_vars", {})
        flat = {
            name[len(PREFIX) :].lower(): value
            for name, value in variables.items()
            if name.upper().startswith(PREFIX)
        }
        root = {
            name: flat[name]
            for name in self.settings_cls.model_fields
            if name not in GROUPS and flat.get(name) is not None
        }
        return root | nest(flat, decode=True)


def sources_off() -> bool:
    """Whether the settings read no variable or file now (inside :func:`without_sources`)."""
    return _SOURCES_OFF.get()
