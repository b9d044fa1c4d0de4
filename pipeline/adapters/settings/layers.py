"""Settings sources in order of precedence, merged setting by setting: keyword overrides,
then the environment, then a ``.env`` file, then the config file, then the defaults.

pydantic-settings merges its sources deeply, so a setting whose value is a mapping
(``challengers``, ``feature_bounds``) given by the environment would be merged key by key
into the file's. Here a setting given by a higher source replaces the lower one's whole,
as a variable replaces a default.

>>> over({"seed": 1, "model": {"challengers": {"a": "x"}, "spec": "m"}},
...      {"model": {"challengers": {"b": "y"}}})
{'seed': 1, 'model': {'challengers': {'b': 'y'}, 'spec': 'm'}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from driftline.adapters.settings.flat import GROUPS

__all__ = ["Layers", "over"]


def over(lower: Mapping[str, Any], higher: Mapping[str, Any]) -> dict[str, Any]:
    """``higher``'s settings over ``lower``'s: a group given as a mapping on both sides is
    merged field by field (each field's value replaced whole); anything else replaced."""
    merged = dict(lower)
    for key, value in higher.items():
        below = merged.get(key)
        if key in GROUPS and isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = {**below, **value}
        else:
            merged[key] = value
    return merged


class Layers(PydanticBaseSettingsSource):
    """One source of ``sources`` (highest precedence first), merged by :func:`over`."""

    def __init__(
        self, settings_cls: type[BaseSettings], sources: Sequence[PydanticBaseSettingsSource]
    ) -> None:
        super().__init__(settings_cls)
        self._sources = tuple(sources)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ answers for the whole model

    def __call__(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for source in reversed(self._sources):
            merged = over(merged, source())
        return merged
