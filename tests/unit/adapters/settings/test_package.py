"""The settings are a package by group: one module per group, and the package's names
(``from driftline.adapters.settings import Settings, KafkaSettings, ...``) as before."""

from __future__ import annotations

import importlib

import pytest

import driftline.adapters.settings as package
from driftline.adapters.settings import Settings, variable_names
from driftline.adapters.settings.flat import GROUPS

#: What the package exported as one module, every name kept.
EXPORTED = {
    "DEFAULT_MODEL",
    "CheckpointSettings",
    "KafkaSettings",
    "ModelSettings",
    "RedisSettings",
    "Settings",
    "StackClientFiles",
    "StackSettings",
    "TopicNames",
    "WorkerSettings",
    "mask_url",
    "read_private_file",
    "variable_names",
}
#: Each group's module, by the group's field of Settings.
MODULES = {
    "kafka": "kafka",
    "redis": "redis",
    "stack": "stack",
    "model": "model",
    "worker": "worker",
    "checkpoints": "checkpoint",
    "schema_registry": "schema_registry",
}


def test_the_package_exports_what_the_module_did() -> None:
    # and the module's public constants, now exported by name
    assert set(package.__all__) == EXPORTED | {
        "SASL_MECHANISMS",
        "STACK_SASL_MECHANISM",
        "STACK_USER",
        "SchemaRegistrySettings",  # issue 21
        # issue 22: the config file and its texts, unknown variables, masking free text
        "CONFIG_VARIABLE",
        "ConfigFormat",
        "config_env",
        "config_json",
        "config_text",
        "config_toml",
        "known_variables",
        "mask_text",
        "read_config_file",
        "unknown_variables",
    }
    for name in package.__all__:
        assert getattr(package, name) is not None, name


@pytest.mark.parametrize("group", sorted(MODULES))
def test_each_group_has_a_module_of_its_own(group: str) -> None:
    cls = GROUPS[group]
    module = importlib.import_module(f"driftline.adapters.settings.{MODULES[group]}")
    assert cls.__module__ == module.__name__
    assert getattr(module, cls.__name__) is getattr(package, cls.__name__)
    assert Settings.model_fields[group].annotation is cls


def test_each_group_owns_its_variables() -> None:
    for path, variable in variable_names().items():
        group, name = path.split(".")
        assert name in GROUPS[group].model_fields, variable


def test_the_root_settings_and_the_flat_source_have_modules_of_their_own() -> None:
    assert Settings.__module__ == "driftline.adapters.settings.root"
    assert variable_names.__module__ == "driftline.adapters.settings.flat"
