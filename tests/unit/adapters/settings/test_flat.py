"""variable_names: exactly the flat DRIFTLINE_* variables, each naming an existing field."""

from __future__ import annotations

from typing import Any

from driftline.adapters.settings import Settings, variable_names
from tests.unit.adapters.settings.variables import CASES, VARIABLES

ROOT_VARIABLES = {"DRIFTLINE_NAMESPACE": "namespace", "DRIFTLINE_SEED": "seed"}


def field_of(s: Settings, path: str) -> Any:
    """``s.kafka.partitions`` for ``"kafka.partitions"``."""
    value: Any = s
    for part in path.split("."):
        value = getattr(value, part)
    return value


def test_variable_names_cover_exactly_the_flat_variables() -> None:
    names = variable_names()
    assert len(set(names.values())) == len(names)  # no two fields share a variable
    assert set(names.values()) | set(ROOT_VARIABLES) == set(VARIABLES)
    assert not set(names.values()) & set(ROOT_VARIABLES)
    for variable, (_, path, _) in CASES.items():
        if variable not in ROOT_VARIABLES:
            assert names[path] == variable


def test_variable_names_name_existing_fields() -> None:
    s = Settings(_env_file=None)
    for path in variable_names():
        field_of(s, path)  # raises AttributeError for a field that does not exist
