"""The base of every group of settings: frozen, strict about names, and the flat
``DRIFTLINE_*`` variable of each of its fields.

>>> class Example(SettingsGroup):
...     prefix: ClassVar[str] = "example_"
...     env: ClassVar[Mapping[str, str]] = {"size": "example_window"}
...     size: int = 3
...     name: str = "x"
...     token: SecretStr | None = None
>>> Example.variables()
{'size': 'example_window', 'name': 'example_name', 'token': 'example_token'}
>>> Example.secrets()
('token',)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, get_args

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = ["PREFIX", "SettingsGroup"]

#: What every variable's name starts with.
PREFIX = "DRIFTLINE_"


class SettingsGroup(BaseModel):
    """A frozen group of settings. ``env`` maps a field to its variable (prefix + name
    by default); ``prefix`` is the group's usual variable prefix."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    prefix: ClassVar[str] = ""
    env: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Field name -> flat variable name without ``DRIFTLINE_`` (lower case)."""
        return {name: cls.env.get(name, f"{cls.prefix}{name}").lower() for name in cls.model_fields}

    @classmethod
    def secrets(cls) -> tuple[str, ...]:
        """The fields that hold a secret (a :class:`SecretStr`): masked wherever shown."""
        return tuple(
            name
            for name, info in cls.model_fields.items()
            if info.annotation is SecretStr or SecretStr in get_args(info.annotation)
        )
